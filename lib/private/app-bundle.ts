import { existsSync } from "fs";
import * as path from "path";

/**
 * Absolute path of the demo application bundle (`dist/app/server.js`), found both
 * from the compiled library (dist/lib/...) and from the TypeScript sources (tests).
 */
export function demoAppBundlePath(): string {
  const candidates = [
    path.resolve(__dirname, "..", "..", "app", "server.js"), // dist/lib/tiers -> dist/app
    path.resolve(__dirname, "..", "app", "server.js"), // dist/lib -> dist/app
    path.resolve(__dirname, "..", "..", "dist", "app", "server.js"), // lib/tiers -> dist/app
    path.resolve(__dirname, "..", "dist", "app", "server.js"), // lib -> dist/app
  ];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new Error(`WebAppTier: the demo app bundle is missing (looked in ${candidates.join(", ")}). Run \`npm run build\`, or pass \`app.bundlePath\` or \`app.image\`.`);
  }
  return found;
}
