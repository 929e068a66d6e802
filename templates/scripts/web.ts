import { PATHS } from "../paths";
import { SCRIPT_HEADER } from "./shell";

/** Prepares Nginx's writable state, validates the config, runs Nginx in the foreground. */
export function renderWebStartScript(): string {
  const state = PATHS.nginxStateDir;
  return [
    SCRIPT_HEADER,
    `CONFIG=${PATHS.nginxConfig}`,
    `mkdir -p ${state}/body ${state}/proxy ${state}/fastcgi ${state}/uwsgi ${state}/scgi ${PATHS.staticRoot}`,
    'nginx -t -q -c "$CONFIG"',
    'log "starting nginx"',
    "# The config says daemon off: nginx stays in the foreground.",
    'exec nginx -c "$CONFIG"',
    "",
  ].join("\n");
}
