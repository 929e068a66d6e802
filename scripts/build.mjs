// Build: type-directed emit of the library (tsc) plus one self-contained bundle of
// the demo app (esbuild), so the app runs with plain `node` in any image or VM.
import { execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist", { recursive: true, force: true });
execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
// The Docker build context DockerTarget uses for images with extra tools (keepalived).
cpSync("lib/targets/docker/tools-image", "dist/lib/targets/docker/tools-image", { recursive: true });
await build({
  entryPoints: ["app/server.ts"],
  outfile: "dist/app/server.js",
  bundle: true,
  platform: "node",
  // node18: Debian 12 ships Node.js 18 for the AWS target; the image runs 22.
  target: "node18",
  format: "cjs",
  minify: true,
  legalComments: "external",
  logLevel: "warning",
});
