import { existsSync } from "fs";
import * as path from "path";

/**
 * Absolute path of the demo application bundle (`dist/app/server.js`), found
 * from the published package (dist/lib/private -> dist/app) and from any build of
 * this repository that runs the sources or compiles them elsewhere (jest's lib/,
 * the lab's dist-lab/, the diagram's dist-tools/): the repository's dist/app.
 */
export function demoAppBundlePath(): string {
  const candidates = [
    path.resolve(__dirname, "..", "..", "app", "server.js"),
    ...[1, 2, 3, 4].map((up) => path.resolve(__dirname, ...Array<string>(up).fill(".."), "dist", "app", "server.js")),
  ];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new Error(`WebAppTier: the demo app bundle is missing (looked in ${candidates.join(", ")}). Fix: run \`npm run build\`, or pass \`app.artifact\`.`);
  }
  return found;
}
