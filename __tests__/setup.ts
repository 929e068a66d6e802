import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { Testing } from "cdktf";

Testing.setupJest();

/**
 * Testing.app() makes a fresh temp outdir per call and never removes it: give
 * every app of this test file one directory, removed when the file is done.
 */
const outdir = mkdtempSync(join(tmpdir(), "cdktf-ha-web-test-"));
const originalApp = Testing.app.bind(Testing);
Testing.app = (options = {}) => originalApp({ outdir, ...options });
afterAll(() => rmSync(outdir, { recursive: true, force: true }));
