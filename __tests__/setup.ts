import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import type * as Cdktf from "cdktf";
import type * as CdktfStackTrace from "cdktf/lib/tokens/private/stack-trace";

/**
 * What every test file that uses cdktf needs, done when the file first loads
 * cdktf (directly or through the library): `jest.mock` with a factory that
 * returns the real module, prepared. A file that never loads cdktf (most
 * template and app tests) no longer pays for loading it (about 1.5 s a file
 * under jest's module loader on a loaded 2-core machine, archiver included).
 */
let loadingCdktf = false;
jest.mock("cdktf", () => {
  // cdktf's own modules load "cdktf" while it loads: they get the module as it is so far, prepared below once complete.
  if (loadingCdktf) return jest.requireActual<typeof Cdktf>("cdktf");
  loadingCdktf = true;
  let cdktf: typeof Cdktf;
  try {
    cdktf = jest.requireActual<typeof Cdktf>("cdktf");
  } finally {
    loadingCdktf = false;
  }
  cdktf.Testing.setupJest();
  // Testing.app() makes a fresh temp outdir per call and never removes it: every app of the file gets one directory.
  const originalApp = cdktf.Testing.app.bind(cdktf.Testing);
  cdktf.Testing.app = (options = {}) => originalApp({ outdir: testOutdir(), ...options });
  recordTokenStacksWithoutSourceMaps(jest.requireActual<typeof CdktfStackTrace>("cdktf/lib/tokens/private/stack-trace"));
  return cdktf;
});

let outdir: string | undefined;
const testOutdir = () => {
  outdir ??= mkdtempSync(join(tmpdir(), "cdktf-ha-web-test-"));
  return outdir;
};
afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/**
 * cdktf records the full stack trace of every token it creates (about a thousand
 * per synth of the examples), only to print it if that token fails to resolve.
 * Under jest each trace went through jest's source-map-support, which maps every
 * frame back to its TypeScript line: that was most of a synth's time in a test
 * (20 of the 25 s of web-app-tier.test.ts on a loaded 2-core machine). Even in
 * V8's own format the traces were 2 of the unit project's 31 s of CPU, so tests
 * record none: a token that fails to resolve still fails the test with cdktf's
 * message, without where the token was made. HAWEB_TEST_TOKEN_STACKS=1 records
 * them (V8's format, transpiled line numbers) to find that out; test failures
 * keep their source-mapped stacks either way.
 */
const TOKEN_STACKS_ENV = "HAWEB_TEST_TOKEN_STACKS";

function recordTokenStacksWithoutSourceMaps(stackTrace: typeof CdktfStackTrace) {
  const capture = stackTrace.captureStackTrace;
  const record = process.env[TOKEN_STACKS_ENV] === "1";
  /** V8's own format (what Node prints without source maps). Not `undefined`: Node would fall back to the runner's source-map-support. */
  const plainStackTrace = (error: Error, frames: NodeJS.CallSite[]) => `${error}${frames.map((f) => `\n    at ${f}`).join("")}`;
  function captureWithoutSourceMaps(below?: Parameters<typeof capture>[0]): string[] {
    if (!record) return [];
    const prepare = Error.prepareStackTrace;
    Error.prepareStackTrace = plainStackTrace;
    try {
      return capture(below ?? captureWithoutSourceMaps);
    } finally {
      Error.prepareStackTrace = prepare;
    }
  }
  (stackTrace as { captureStackTrace: typeof capture }).captureStackTrace = captureWithoutSourceMaps;
}
