/** The README's alert table is the shipped rules' own description: names, severities, `for:` and meanings. */
import { readFileSync } from "fs";
import { join } from "path";
import { ALERT_RULES_DEFAULTS, SHIPPED_ALERT_NAMES, SHIPPED_ALERTS } from "../../templates/monitoring/alert-rules";

test("the README lists every shipped alert with its severity, for: and meaning, in order", () => {
  const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
  const section = readme.split(/^## /m).find((s) => s.startsWith("Monitoring"));
  expect(section).toBeDefined();
  // The alert table's rows: a name, then a severity (the job table above it has other columns).
  const rows = section!.split("\n").filter((line) => /^\| `[A-Za-z0-9]+` \| (critical|warning|info) \|/.test(line));
  expect(rows).toEqual(
    SHIPPED_ALERT_NAMES.map((name) => {
      const alert = SHIPPED_ALERTS[name];
      return `| \`${name}\` | ${alert.severity} | \`${ALERT_RULES_DEFAULTS.for[name]}\` | ${alert.meaning} |`;
    }),
  );
});
