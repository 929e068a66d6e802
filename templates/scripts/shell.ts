/** Shell fragments the start scripts share. POSIX sh: the official images and Debian all have it. */

/** Environment variables through which secrets reach a node (never files in the image, never user data). */
export const SECRET_ENV = {
  /** Password of the application's database user. */
  appPassword: "HAWEB_DB_APP_PASSWORD",
  /** Password of the Prometheus exporter's database user. */
  exporterPassword: "HAWEB_DB_EXPORTER_PASSWORD",
  /** Password of the failover script's database user (ha-web-db-failover). */
  failoverPassword: "HAWEB_DB_FAILOVER_PASSWORD",
  /** Password of HAProxy's stats page (its config expands it at start). */
  statsPassword: "HAWEB_STATS_PASSWORD",
} as const;

export const SCRIPT_HEADER = [
  "#!/bin/sh",
  "# Rendered by cdktf-ha-web. Runs unchanged in a container, on a VM and in the lab:",
  "# it uses only the binaries, never an image's entrypoint.",
  "set -eu",
  'log() { echo "[$(date -u +%Y-%m-%dT%H:%M:%SZ)] $0: $*" >&2; }',
].join("\n");

/**
 * `read_secret NAME`: prints $NAME, or the content of the file named by $NAME_FILE
 * (how the AWS target hands over values fetched from SSM). Fails if neither is set.
 */
export const READ_SECRET_FUNCTION = [
  "read_secret() {",
  '  eval "value=\\${$1:-}"',
  '  eval "file=\\${$1_FILE:-}"',
  '  if [ -z "$value" ] && [ -n "$file" ] && [ -r "$file" ]; then value=$(cat "$file"); fi',
  '  if [ -z "$value" ]; then log "secret $1 is not set (set $1 or $1_FILE)"; exit 64; fi',
  "  printf '%s' \"$value\"",
  "}",
  "# Escapes a value for a single-quoted SQL string.",
  "sql_escape() { printf '%s' \"$1\" | sed -e 's/\\\\/\\\\\\\\/g' -e \"s/'/''/g\"; }",
].join("\n");

/**
 * Stopping a start script while it waits, before it execs its server. As a
 * container's PID 1, sh ignores SIGTERM unless it traps it (`docker stop` would
 * wait out the stop timeout, then SIGKILL), and it runs a trap only once its
 * foreground command returns: so the script traps the stop signals, and
 * `pause SECONDS` sleeps in the background and `wait`s, which a trapped signal
 * interrupts at once. QUIT too: the official nginx image stops with SIGQUIT
 * (its STOPSIGNAL), which our entrypoint inherits. `stop_requested` kills that
 * sleep and exits 128 + the signal's number; a script's EXIT trap, if it has
 * one, then cleans up. The traps vanish with `exec`: the server handles its
 * signals itself.
 */
export const STOP_WHILE_WAITING = [
  'CHILD=""',
  'pause() { sleep "$1" & CHILD=$!; wait "$CHILD"; CHILD=""; }',
  "stop_requested() {",
  "  trap '' TERM INT QUIT",
  '  log "$1 received while starting: stopping"',
  '  if [ -n "$CHILD" ]; then kill "$CHILD" 2>/dev/null || true; fi',
  '  exit "$2"',
  "}",
  "trap 'stop_requested TERM 143' TERM",
  "trap 'stop_requested INT 130' INT",
  "trap 'stop_requested QUIT 131' QUIT",
].join("\n");

/** Quotes a value for sh (single quotes). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
