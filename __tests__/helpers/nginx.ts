import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { PATHS } from "../../templates/paths";
import { spawnOffline } from "./binaries";

/**
 * `nginx -t` on a config whose writable state (pid, temp paths) `render` puts
 * in the directory it is given: a fresh temp dir, removed afterwards, so the
 * check never creates `PATHS.nginxStateDir` on this machine. The rest of the
 * config is validated as it is.
 */
export function nginxConfigTest(render: (stateDir: string) => string): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "nginx-test-"));
  try {
    const stateDir = join(dir, "state");
    mkdirSync(stateDir);
    const conf = render(stateDir);
    if (!conf.includes(`pid ${stateDir}/nginx.pid;`) || conf.includes(PATHS.nginxStateDir)) {
      throw new Error(`the config to check must keep all its state in ${stateDir}, not in ${PATHS.nginxStateDir}`);
    }
    const file = join(dir, "nginx.conf");
    writeFileSync(file, conf);
    // stdout to /dev/null: access_log /dev/stdout cannot be opened on node's socket pipes (the start script relays).
    const result = spawnOffline("nginx", ["-t", "-c", file], { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
    return { status: result.status, stderr: result.stderr ?? String(result.error) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A rendered or uploaded nginx.conf with its state directory moved from `PATHS.nginxStateDir` to `stateDir`. */
export function withNginxStateDir(conf: string, stateDir: string): string {
  return conf.split(`${PATHS.nginxStateDir}/`).join(`${stateDir}/`);
}
