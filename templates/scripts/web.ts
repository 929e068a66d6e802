import { PATHS } from "../paths";
import { assertNoProblems, ConfigProblem, isHostName } from "../validate";
import { SCRIPT_HEADER, shellQuote, STOP_WHILE_WAITING } from "./shell";

/** The defaults of WebStartScriptConfig (the one source for code, docs and tests). */
export const WEB_START_SCRIPT_DEFAULTS = {
  /** How long the script waits for the app's host name to resolve before it gives up. */
  appHostWaitSeconds: 60,
} as const;

export interface WebStartScriptConfig {
  /**
   * The app's host as the rendered nginx.conf names it (`NginxConfig.app.host`).
   * Nginx resolves it once, at start, and refuses to start when it does not
   * resolve: the script waits for it first. An IPv4 address needs no wait.
   * @default none: no wait
   */
  readonly appHost?: string;
  /**
   * Seconds to wait for `appHost` to resolve (checked about once a second with
   * `getent hosts`, which asks the same resolver as Nginx; a check itself can
   * take the resolver's own timeout). Then the script exits 1 with a log line
   * naming the host, and the supervisor's restart policy decides what follows.
   * @default 60 (WEB_START_SCRIPT_DEFAULTS)
   */
  readonly appHostWaitSeconds?: number;
}

export function validateWebStartScriptConfig(config: WebStartScriptConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (config.appHost !== undefined && !isHostName(config.appHost))
    problems.push(new ConfigProblem("appHost", `appHost "${config.appHost}" is not a host name or IPv4 address`));
  const wait = config.appHostWaitSeconds;
  if (wait !== undefined && !(Number.isInteger(wait) && wait >= 1 && wait <= 3600)) {
    problems.push(new ConfigProblem("appHostWaitSeconds", `appHostWaitSeconds is ${wait}; it must be a whole number of seconds from 1 to 3600`));
  }
  return problems;
}

/**
 * Prepares Nginx's writable state, waits (bounded) for the app's host name to
 * resolve, validates the config, runs Nginx in the foreground.
 *
 * Nginx resolves an upstream's name once, at start. Re-resolving an upstream
 * with keep-alive at run time needs the `resolve` server parameter of 1.27.3 or
 * later, and the same config also runs on Debian 12's Nginx 1.22 (VMs, the
 * lab). So an app that comes back with a new address needs Nginx restarted: the
 * Docker target replaces Nginx's container whenever its app's is replaced
 * (`restartWith`), and the wait here covers the start itself.
 */
export function renderWebStartScript(config: WebStartScriptConfig = {}): string {
  assertNoProblems("Web start script", validateWebStartScriptConfig(config));
  const state = PATHS.nginxStateDir;
  const host = config.appHost;
  const needsWait = host !== undefined && !/^\d{1,3}(\.\d{1,3}){3}$/.test(host);
  const seconds = config.appHostWaitSeconds ?? WEB_START_SCRIPT_DEFAULTS.appHostWaitSeconds;
  const wait = needsWait
    ? [
        `APP_HOST=${shellQuote(host)}`,
        `APP_HOST_WAIT_SECONDS=${seconds}`,
        "# Nginx resolves the app's name once, at start, and fails when it does not resolve yet (the",
        "# app's container not up, its DNS record not there yet): wait for it, bounded, instead of",
        "# failing and crash-looping. Nginx does not re-resolve it later (`resolve` needs 1.27.3, and",
        "# Debian 12 has 1.22): an app that returns with a new address gets Nginx restarted with it",
        "# (the Docker target replaces this container with its app's).",
        STOP_WHILE_WAITING,
        "if command -v getent >/dev/null 2>&1; then",
        "  deadline=$(($(date +%s) + APP_HOST_WAIT_SECONDS))",
        '  if ! getent hosts "$APP_HOST" >/dev/null 2>&1; then',
        '    log "waiting up to ${APP_HOST_WAIT_SECONDS} s for the app host $APP_HOST to resolve"',
        '    until getent hosts "$APP_HOST" >/dev/null 2>&1; do',
        '      if [ "$(date +%s)" -ge "$deadline" ]; then',
        '        log "the app host $APP_HOST did not resolve within ${APP_HOST_WAIT_SECONDS} s: not starting nginx (is the app running, on a network this node shares?)"',
        "        exit 1",
        "      fi",
        "      pause 1",
        "    done",
        '    log "the app host $APP_HOST resolves"',
        "  fi",
        "else",
        '  log "no getent here: starting without waiting for $APP_HOST to resolve"',
        "fi",
        "trap - TERM INT QUIT",
      ]
    : [];
  return [
    SCRIPT_HEADER,
    `CONFIG=${PATHS.nginxConfig}`,
    ...wait,
    `mkdir -p ${state}/body ${state}/proxy ${state}/fastcgi ${state}/uwsgi ${state}/scgi ${PATHS.staticRoot}`,
    'nginx -t -q -c "$CONFIG" >/dev/null',
    'log "starting nginx"',
    "# nginx opens /dev/stdout by path (access_log), which fails when stdout is a socket",
    "# (systemd's journal, node's child_process pipes): relay through a FIFO then.",
    "if [ -S /proc/self/fd/1 ]; then",
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
