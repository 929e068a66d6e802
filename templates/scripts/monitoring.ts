import { PATHS } from "../paths";
import { isPositivePrometheusDuration } from "../monitoring/common";
import { assertNoProblems, ConfigProblem, isHostName, isPort } from "../validate";
import { READ_SECRET_FUNCTION, SCRIPT_HEADER, SECRET_ENV, shellQuote, STOP_WHILE_WAITING } from "./shell";

/**
 * Start scripts of the monitoring programs. Every target runs Debian's packages
 * (Docker: the Debian image plus the package), so the binaries and their flags
 * are the same in a container, on a VM and in the lab: `prometheus`,
 * `prometheus-alertmanager`, `prometheus-nginx-exporter`,
 * `prometheus-mysqld-exporter`. Flags are written `--name=value`, which both the
 * Go flag package (Debian 12's exporters) and kingpin (newer ones) accept.
 */

/** The user Debian's monitoring packages create; every monitoring program runs as it. */
export const MONITORING_USER = "prometheus";

/** The ports each monitoring program listens on (the exporters' registered defaults). */
export const MONITORING_PORTS = {
  prometheus: 9090,
  alertmanager: 9093,
  nodeExporter: 9100,
  mysqldExporter: 9104,
  nginxExporter: 9113,
  /** HAProxy's own Prometheus endpoint (a listener of its own beside the loopback-only stats page). */
  haproxyMetrics: 8405,
} as const;

/**
 * Runs a program as MONITORING_USER: the script starts as root to own its data
 * directory (an EBS volume or a fresh named volume is root's), then drops.
 */
const RUN_AS_MONITORING_USER = `setpriv --reuid=${MONITORING_USER} --regid=${MONITORING_USER} --init-groups --`;

/** How often a sidecar checks that its network namespace still has its interfaces. */
export const SIDECAR_CHECK_SECONDS = 5;
/** How long the Nginx exporter waits for stub_status before it gives up (the restart policy takes over). */
export const NGINX_EXPORTER_WAIT_SECONDS = 120;

/**
 * Runs a sidecar's program (an exporter) under the start script
 * instead of exec'ing it. A sidecar lives in its server's network namespace
 * (Docker's `network_mode: container:`): when the server's container restarts or
 * is replaced, Docker gives the server a new namespace and the old one keeps
 * only `lo`, where the sidecar would run on, unreachable (docker/for-linux#1299).
 * So the script checks every few seconds that the namespace still has an
 * interface besides `lo` and exits 1 when it has not: the restart policy then
 * starts the sidecar again, joined to the server's new namespace. On a VM or in
 * the lab the interfaces never go away. A stop signal is passed to the program
 * and the script exits when it has.
 */
function superviseSidecar(program: readonly string[]): string[] {
  return [
    "# /proc/net/route lists this process's network namespace's routes: an orphaned namespace has none.",
    "# (Interfaces alone can mislead: tunnel modules put tunl0, sit0, ... into every namespace.)",
    "has_network() { awk 'NR > 1 && $1 != \"lo\" { found = 1 } END { exit !found }' /proc/net/route; }",
    'PROGRAM=""',
    'NAP=""',
    "stop_sidecar() {",
    "  trap '' TERM INT QUIT",
    '  if [ -n "$NAP" ]; then kill "$NAP" 2>/dev/null || true; fi',
    '  if [ -n "$PROGRAM" ]; then',
    '    kill -TERM "$PROGRAM" 2>/dev/null || true',
    '    wait "$PROGRAM" || true',
    "  fi",
    '  exit "$1"',
    "}",
    "# Trapped before the program starts: a stop at any moment ends both.",
    "trap 'stop_sidecar 143' TERM",
    "trap 'stop_sidecar 130' INT",
    "trap 'stop_sidecar 131' QUIT",
    ...program.map((line, i) => (i === program.length - 1 ? `${line} &` : line)),
    "PROGRAM=$!",
    'while kill -0 "$PROGRAM" 2>/dev/null; do',
    "  if ! has_network; then",
    '    log "this network namespace has no route any more (its server was restarted or replaced): exiting, so the restart policy joins the new one"',
    "    stop_sidecar 1",
    "  fi",
    `  sleep ${SIDECAR_CHECK_SECONDS} & NAP=$!`,
    '  wait "$NAP" || true',
    '  NAP=""',
    "done",
    "status=0",
    'wait "$PROGRAM" || status=$?',
    'log "the program exited with status $status"',
    'exit "$status"',
  ];
}

export interface PrometheusStartScriptConfig {
  /** Where the rendered prometheus.yml is. */
  readonly configPath: string;
  /** The data directory (the host's data volume). */
  readonly dataDir: string;
  /** How long samples are kept, a Prometheus duration ("15d"). */
  readonly retentionTime: string;
  /** Upper bound of the data on disk ("18GB"), or none. */
  readonly retentionSize?: string;
  /** "address:port" the UI and API listen on. */
  readonly listenAddress: string;
}

export interface AlertmanagerStartScriptConfig {
  readonly configPath: string;
  /** Where silences and the notification log are kept. */
  readonly storageDir: string;
  /** "address:port" the API listens on. */
  readonly listenAddress: string;
}

export interface NginxExporterStartScriptConfig {
  /** URL of Nginx's stub_status. */
  readonly scrapeUri: string;
  readonly listenAddress: string;
}

export interface MysqldExporterStartScriptConfig {
  /** Where the server listens (the exporter shares its host's loopback). */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly listenAddress: string;
}

function listenProblems(field: string, value: string): ConfigProblem[] {
  const match = /^(.*):(\d{1,5})$/.exec(value);
  const ok = match !== null && (match[1] === "" || isHostName(match[1])) && isPort(Number(match[2]));
  return ok ? [] : [new ConfigProblem(field, `${field} "${value}" is not "address:port" (or ":port")`)];
}

function pathProblems(field: string, value: string): ConfigProblem[] {
  return /^\/[A-Za-z0-9_./-]*$/.test(value) ? [] : [new ConfigProblem(field, `${field} "${value}" is not an absolute path`)];
}

/** Prometheus: owns its data directory, checks its config, runs in the foreground as MONITORING_USER. */
export function renderPrometheusStartScript(config: PrometheusStartScriptConfig): string {
  assertNoProblems("Prometheus start script", [
    ...pathProblems("configPath", config.configPath),
    ...pathProblems("dataDir", config.dataDir),
    ...listenProblems("listenAddress", config.listenAddress),
    ...(isPositivePrometheusDuration(config.retentionTime)
      ? []
      : [new ConfigProblem("retentionTime", `retentionTime "${config.retentionTime}" is not a duration`)]),
    ...(config.retentionSize === undefined || /^[0-9]+(B|KB|MB|GB|TB|PB)$/.test(config.retentionSize)
      ? []
      : [new ConfigProblem("retentionSize", `retentionSize "${config.retentionSize}" is not a size such as "18GB"`)]),
  ]);
  return [
    SCRIPT_HEADER,
    `CONFIG=${config.configPath}`,
    `DATA=${config.dataDir}`,
    'mkdir -p "$DATA"',
    `chown -R ${MONITORING_USER}:${MONITORING_USER} "$DATA"`,
    "# A bad config fails here, with promtool's message, not as a crash loop.",
    'promtool check config "$CONFIG" >/dev/null',
    'log "starting prometheus"',
    `exec ${RUN_AS_MONITORING_USER} prometheus \\`,
    '  --config.file="$CONFIG" \\',
    '  --storage.tsdb.path="$DATA" \\',
    `  --storage.tsdb.retention.time=${config.retentionTime} \\`,
    ...(config.retentionSize ? [`  --storage.tsdb.retention.size=${config.retentionSize} \\`] : []),
    `  --web.listen-address=${shellQuote(config.listenAddress)}`,
    "",
  ].join("\n");
}

/** Alertmanager, one instance (no gossip cluster: its port stays closed). */
export function renderAlertmanagerStartScript(config: AlertmanagerStartScriptConfig): string {
  assertNoProblems("Alertmanager start script", [
    ...pathProblems("configPath", config.configPath),
    ...pathProblems("storageDir", config.storageDir),
    ...listenProblems("listenAddress", config.listenAddress),
  ]);
  return [
    SCRIPT_HEADER,
    `CONFIG=${config.configPath}`,
    `DATA=${config.storageDir}`,
    'mkdir -p "$DATA"',
    `chown -R ${MONITORING_USER}:${MONITORING_USER} "$DATA"`,
    'log "starting alertmanager"',
    "# --cluster.listen-address= (empty) turns the gossip cluster off: one Alertmanager, no extra port.",
    `exec ${RUN_AS_MONITORING_USER} prometheus-alertmanager \\`,
    '  --config.file="$CONFIG" \\',
    '  --storage.path="$DATA" \\',
    "  --cluster.listen-address= \\",
    `  --web.listen-address=${shellQuote(config.listenAddress)}`,
    "",
  ].join("\n");
}

/** The Nginx exporter, reading stub_status on its node's loopback. */
export function renderNginxExporterStartScript(config: NginxExporterStartScriptConfig): string {
  assertNoProblems("Nginx exporter start script", [
    ...(/^http:\/\/[A-Za-z0-9.-]+:\d{1,5}\/[A-Za-z0-9_/-]*$/.test(config.scrapeUri)
      ? []
      : [new ConfigProblem("scrapeUri", `scrapeUri "${config.scrapeUri}" is not an http URL`)]),
    ...listenProblems("listenAddress", config.listenAddress),
  ]);
  const stub = /^http:\/\/([^/:]+):(\d+)\//.exec(config.scrapeUri)!;
  return [
    SCRIPT_HEADER,
    `STUB_HOST=${shellQuote(stub[1])}`,
    `STUB_PORT=${stub[2]}`,
    "# Debian 12's exporter (0.11) gives up at once when stub_status does not answer as it starts,",
    "# and Nginx may start after it (Nginx waits for its app): wait until the port accepts",
    "# connections (bash's /dev/tcp) instead of exiting and relying on a restart policy.",
    STOP_WHILE_WAITING,
    "if command -v bash >/dev/null 2>&1; then",
    "  waited=0",
    `  until bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$STUB_HOST" "$STUB_PORT" 2>/dev/null; do`,
    '    if [ "$waited" -eq 0 ]; then log "waiting for stub_status on $STUB_HOST:$STUB_PORT (nginx not up yet)"; fi',
    `    if [ "$waited" -ge ${NGINX_EXPORTER_WAIT_SECONDS} ]; then`,
    `      log "stub_status on $STUB_HOST:$STUB_PORT did not answer within ${NGINX_EXPORTER_WAIT_SECONDS} s: not starting (is nginx running?)"`,
    "      exit 1",
    "    fi",
    "    waited=$((waited + 1))",
    "    pause 1",
    "  done",
    "fi",
    "trap - TERM INT QUIT",
    'log "starting the nginx exporter"',
    ...superviseSidecar([
      `${RUN_AS_MONITORING_USER} prometheus-nginx-exporter \\`,
      `  --nginx.scrape-uri=${shellQuote(config.scrapeUri)} \\`,
      `  --web.listen-address=${shellQuote(config.listenAddress)}`,
    ]),
    "",
  ].join("\n");
}

/**
 * The MySQL exporter: its credentials go into a my.cnf only its user can read
 * (in a private temp directory), from $HAWEB_DB_EXPORTER_PASSWORD or its _FILE.
 */
export function renderMysqldExporterStartScript(config: MysqldExporterStartScriptConfig): string {
  assertNoProblems("MySQL exporter start script", [
    ...(isHostName(config.host) ? [] : [new ConfigProblem("host", `host "${config.host}" is not a host name or address`)]),
    ...(isPort(config.port) ? [] : [new ConfigProblem("port", `port ${config.port} is outside 1-65535`)]),
    ...(/^[A-Za-z0-9_]{1,32}$/.test(config.user) ? [] : [new ConfigProblem("user", `user "${config.user}" is not a database user name`)]),
    ...listenProblems("listenAddress", config.listenAddress),
  ]);
  return [
    SCRIPT_HEADER,
    READ_SECRET_FUNCTION,
    `PASSWORD=$(read_secret ${SECRET_ENV.exporterPassword})`,
    "# The exporter reads my.cnf with go-ini: # and ; start a comment, quotes are stripped, a line break starts",
    "# another key. A password with one of them would never log in: refuse it, saying why.",
    `NL='`,
    `'`,
    'case "$PASSWORD" in',
    `  *[\\#\\;\\"\\'\\\`]* | *"$NL"*)`,
    '    log "the exporter password holds a character my.cnf cannot carry (# ; quotes, backtick, line break): use letters, digits and other punctuation"',
    "    exit 64",
    "    ;;",
    "esac",
    `RUN=${PATHS.runDir}/mysqld-exporter`,
    'mkdir -p "$RUN"',
    `chown ${MONITORING_USER}:${MONITORING_USER} "$RUN"`,
    'chmod 700 "$RUN"',
    'CNF="$RUN/my.cnf"',
    "umask 077",
    "# The password never reaches the command line (ps) or the environment of the exporter.",
    `printf '[client]\\nuser=%s\\npassword=%s\\nhost=%s\\nport=%s\\n' ${shellQuote(config.user)} "$PASSWORD" ${shellQuote(config.host)} ${config.port} > "$CNF"`,
    `chown ${MONITORING_USER}:${MONITORING_USER} "$CNF"`,
    `unset PASSWORD ${SECRET_ENV.exporterPassword} ${SECRET_ENV.exporterPassword}_FILE`,
    'log "starting the mysqld exporter"',
    ...superviseSidecar([
      `${RUN_AS_MONITORING_USER} prometheus-mysqld-exporter \\`,
      '  --config.my-cnf="$CNF" \\',
      `  --web.listen-address=${shellQuote(config.listenAddress)}`,
    ]),
    "",
  ].join("\n");
}
