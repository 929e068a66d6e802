import { KEEPALIVED_INTERFACE_PLACEHOLDER } from "../keepalived";
import { PATHS } from "../paths";
import { READ_SECRET_FUNCTION, SCRIPT_HEADER } from "./shell";

export interface LoadBalancerStartScriptConfig {
  /**
   * Environment variables the rendered config expands (the stats page's
   * password): each is read from `$NAME`, or from the file `$NAME_FILE` (how
   * targets deliver secrets), and exported for HAProxy; the start fails when one
   * is missing. @default []
   */
  readonly secretEnvironment?: readonly string[];
}

/**
 * Validates the rendered config, then runs HAProxy in master-worker mode in the
 * foreground. No wait for the web nodes' names: the config's `init-addr
 * last,libc,none` starts HAProxy without them.
 *
 * A single node: `exec` makes HAProxy's master PID 1, so `docker stop`'s SIGUSR1
 * (the official image's STOPSIGNAL) reaches it: a soft stop, cut at
 * `hard-stop-after` (30 s), which the load balancer's stop timeout (35 s,
 * lib/tiers/load-balancer-tier.ts) outlasts.
 *
 * A node of a pair (a keepalived.conf is present): the script fills in the
 * interface that reaches the first peer, checks the config, and starts
 * keepalived (VRRP only) and HAProxy as its children, staying PID 1 to order
 * their stop: on SIGUSR1, SIGTERM or SIGINT keepalived stops first (it hands
 * the address over at once with a priority-0 advert, instead of the backup
 * waiting out three adverts), then HAProxy gets the signal and finishes its
 * connections. SIGUSR2 and SIGHUP (reload) go to HAProxy. When HAProxy exits on
 * its own (a crash), keepalived is stopped too and the script exits with
 * HAProxy's status; when keepalived exits on its own, HAProxy is soft-stopped and
 * the script exits 1 (the container or unit restarts both). A HAProxy that hangs
 * is keepalived's own check's to find.
 */
export function renderLoadBalancerStartScript(config: LoadBalancerStartScriptConfig = {}): string {
  const run = `${PATHS.runDir}/keepalived`;
  const secrets = config.secretEnvironment ?? [];
  return [
    SCRIPT_HEADER,
    `CONFIG=${PATHS.haproxyConfig}`,
    `KEEPALIVED_CONFIG=${PATHS.keepalivedConfig}`,
    ...(secrets.length === 0
      ? []
      : [
          READ_SECRET_FUNCTION,
          '# Secrets the config expands ("${NAME}"): from $NAME or the file $NAME_FILE, in HAProxy\'s environment only.',
          ...secrets.map((name) => `${name}=$(read_secret ${name}); export ${name}`),
        ]),
    'haproxy -c -q -f "$CONFIG"',
    'if [ ! -f "$KEEPALIVED_CONFIG" ]; then',
    '  log "starting haproxy"',
    "  # -W: master-worker (reload with SIGUSR2); -db: stay in the foreground.",
    '  exec haproxy -W -db -f "$CONFIG"',
    "fi",
    "",
    "peer=$(sed -n '/unicast_peer {/{n;s/^ *//;p;q;}' \"$KEEPALIVED_CONFIG\")",
    "iface=$(ip -o -4 route get \"$peer\" | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')",
    'if [ -z "$iface" ]; then log "no interface reaches the VRRP peer $peer"; exit 1; fi',
    `mkdir -p ${run}`,
    `sed "s/${KEEPALIVED_INTERFACE_PLACEHOLDER}/$iface/" "$KEEPALIVED_CONFIG" > ${run}/keepalived.conf`,
    `keepalived -t -f ${run}/keepalived.conf`,
    "",
    "# Stop order: keepalived (hands the address over), then HAProxy (finishes its connections).",
    'STOPPING=""',
    'LOST=""',
    'KEEPALIVED_JOB=""',
    'HAPROXY_PID=""',
    "stop_keepalived() {",
    '  if [ -n "$KEEPALIVED_JOB" ]; then kill -TERM "$KEEPALIVED_JOB" 2>/dev/null || true; wait "$KEEPALIVED_JOB" 2>/dev/null || true; fi',
    "}",
    "stop_pair() {",
    '  if [ -n "$STOPPING" ]; then return; fi',
    "  STOPPING=$1",
    '  log "$1 received: handing the address over, then stopping haproxy"',
    "  stop_keepalived",
    '  if [ -n "$HAPROXY_PID" ]; then kill -"$1" "$HAPROXY_PID" 2>/dev/null || true; else exit 0; fi',
    "}",
    "# keepalived gone while HAProxy runs would leave this node holding (Docker) or never",
    "# taking (AWS) the address: the node stops as a whole, and its supervisor restarts it.",
    "keepalived_lost() {",
    '  if [ -n "$STOPPING" ]; then return; fi',
    "  STOPPING=keepalived",
    "  LOST=1",
    '  log "keepalived exited: stopping haproxy, the node gives up its share"',
    '  if [ -n "$HAPROXY_PID" ]; then kill -USR1 "$HAPROXY_PID" 2>/dev/null || true; else exit 1; fi',
    "}",
    "trap 'stop_pair USR1' USR1",
    "trap 'stop_pair TERM' TERM",
    "trap 'stop_pair INT' INT",
    "trap keepalived_lost ALRM",
    'trap \'[ -n "$HAPROXY_PID" ] && kill -USR2 "$HAPROXY_PID" 2>/dev/null || true\' USR2',
    'trap \'[ -n "$HAPROXY_PID" ] && kill -HUP "$HAPROXY_PID" 2>/dev/null || true\' HUP',
    "",
    'log "starting keepalived (VRRP on $iface, peer $peer) and haproxy"',
    "# keepalived in a watcher subshell: it forwards a stop to keepalived, and tells this",
    "# script (SIGALRM to $$) when keepalived has exited. -n: no fork; -l -D: log to stdout; -P: VRRP only.",
    "(",
    `  keepalived -n -l -D -P -f ${run}/keepalived.conf -p ${run}/keepalived.pid -r ${run}/vrrp.pid &`,
    "  k=$!",
    "  trap 'kill -TERM \"$k\" 2>/dev/null' TERM",
    '  wait "$k" || wait "$k" || true',
    "  kill -ALRM $$ 2>/dev/null || true",
    ") &",
    "KEEPALIVED_JOB=$!",
    'haproxy -W -db -f "$CONFIG" &',
    "HAPROXY_PID=$!",
    "# A trapped signal interrupts `wait`: wait again until HAProxy itself has exited (and is reaped).",
    "status=0",
    "while :; do",
    '  if wait "$HAPROXY_PID"; then status=0; else status=$?; fi',
    '  if ! kill -0 "$HAPROXY_PID" 2>/dev/null; then break; fi',
    "done",
    'if [ -z "$STOPPING" ]; then',
    "  STOPPING=haproxy",
    '  log "haproxy exited with status $status: stopping keepalived"',
    "  stop_keepalived",
    "fi",
    'if [ -n "$LOST" ]; then exit 1; fi',
    'exit "$status"',
    "",
  ].join("\n");
}
