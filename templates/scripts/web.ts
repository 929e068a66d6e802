import { PATHS } from "../paths";
import { SCRIPT_HEADER } from "./shell";

/** Prepares Nginx's writable state, validates the config, runs Nginx in the foreground. */
export function renderWebStartScript(): string {
  const state = PATHS.nginxStateDir;
  return [
    SCRIPT_HEADER,
    `CONFIG=${PATHS.nginxConfig}`,
    `mkdir -p ${state}/body ${state}/proxy ${state}/fastcgi ${state}/uwsgi ${state}/scgi ${PATHS.staticRoot}`,
    'nginx -t -q -c "$CONFIG" >/dev/null',
    'log "starting nginx"',
    "# nginx opens /dev/stdout by path (access_log), which fails when stdout is a socket",
    "# (systemd's journal, node's child_process pipes): relay through a FIFO then.",
    'if [ -S /proc/self/fd/1 ]; then',
    `  fifo=${state}/stdout.fifo`,
    '  rm -f "$fifo" && mkfifo -m 600 "$fifo"',
    '  cat "$fifo" &',
    '  exec nginx -c "$CONFIG" >"$fifo"',
    "fi",
    "# The config says daemon off: nginx stays in the foreground.",
    'exec nginx -c "$CONFIG"',
    "",
  ].join("\n");
}
