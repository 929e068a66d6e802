import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { Testing } from "cdktf";
import * as cdktfStackTrace from "cdktf/lib/tokens/private/stack-trace";

Testing.setupJest();

/**
 * Testing.app() makes a fresh temp outdir per call and never removes it: give
 * every app of this test file one directory, removed when the file is done.
 */
const outdir = mkdtempSync(join(tmpdir(), "cdktf-ha-web-test-"));
const originalApp = Testing.app.bind(Testing);
Testing.app = (options = {}) => originalApp({ outdir, ...options });
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/**
 * cdktf records the full stack trace of every token it creates (thousands per
 * synth; shown only when a token fails to resolve). Under jest each of those
 * traces went through jest's source-map-support, which maps every frame back
 * to its TypeScript line: that was most of a synth's time in a test (20 of the
 * 25 s of web-app-tier.test.ts on a loaded 2-core machine). The traces are
 * still recorded, with V8's own formatting (transpiled line numbers); test
 * failures keep their source-mapped stacks.
 */
const capture = cdktfStackTrace.captureStackTrace;
/** V8's own format (what Node prints without source maps). Not `undefined`: Node would fall back to the runner's source-map-support. */
const plainStackTrace = (error: Error, frames: NodeJS.CallSite[]) => `${error}${frames.map((f) => `\n    at ${f}`).join("")}`;
function captureWithoutSourceMaps(below?: Parameters<typeof capture>[0]): string[] {
  const prepare = Error.prepareStackTrace;
  Error.prepareStackTrace = plainStackTrace;
  try {
    return capture(below ?? captureWithoutSourceMaps);
  } finally {
    Error.prepareStackTrace = prepare;
  }
}
(cdktfStackTrace as { captureStackTrace: typeof capture }).captureStackTrace = captureWithoutSourceMaps;
