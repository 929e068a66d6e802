// The API report: every name and signature each public entry point exports,
// checked in under etc/api/. `node scripts/api-report.mjs --update` rewrites the
// reports after an intended change; without it, the run fails when the API
// changed and the report was not updated (npm test runs it through jest).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Extractor, ExtractorConfig, ExtractorLogLevel } from "@microsoft/api-extractor";

const root = resolve(import.meta.dirname, "..");

/** Each public entry point (package.json "exports") and its report name. */
export const ENTRY_POINTS = {
  "cdktf-ha-web": "dist/lib/index.d.ts",
  "cdktf-ha-web-aws": "dist/lib/targets/aws/index.d.ts",
  "cdktf-ha-web-policy": "dist/lib/policy/index.d.ts",
  "cdktf-ha-web-templates": "dist/templates/index.d.ts",
};

/** Runs API Extractor on one entry point; returns whether its report differs from the checked-in one. */
export function runReport(name, entry, { update, tempFolder }) {
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: join(root, entry),
      compiler: { tsconfigFilePath: join(root, "tsconfig.build.json") },
      apiReport: { enabled: true, reportFileName: `${name}.api.md`, reportFolder: join(root, "etc", "api"), reportTempFolder: tempFolder },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        // The report is the point; release tags and TSDoc style are not (yet) this project's conventions.
        extractorMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
        tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
        compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
      },
    },
    configObjectFullPath: join(root, "package.json"),
    packageJsonFullPath: join(root, "package.json"),
  });
  const result = Extractor.invoke(config, {
    localBuild: update,
    showVerboseMessages: false,
    messageCallback: (m) => {
      if (m.logLevel !== ExtractorLogLevel.Warning) m.handled = true;
    },
  });
  return { name, changed: result.apiReportChanged, succeeded: result.succeeded };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const update = process.argv.includes("--update");
  const tempFolder = mkdtempSync(join(tmpdir(), "api-report-"));
  try {
    const results = Object.entries(ENTRY_POINTS).map(([name, entry]) => runReport(name, entry, { update, tempFolder }));
    for (const r of results) console.log(`${r.name}: ${r.changed ? (update ? "updated" : "CHANGED") : "unchanged"}`);
    if (!update && results.some((r) => r.changed)) {
      console.error("The public API changed: review the difference, then run `npm run api:report` and commit etc/api/.");
      process.exitCode = 1;
    }
  } finally {
    rmSync(tempFolder, { recursive: true, force: true });
  }
}
