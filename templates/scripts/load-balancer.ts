import { KEEPALIVED_INTERFACE_PLACEHOLDER } from "../keepalived";
import { PATHS } from "../paths";
import { SCRIPT_HEADER } from "./shell";

/**
 * Validates the rendered config, then runs HAProxy in master-worker mode in the
 * foreground. No wait for the web nodes' names: the config's `init-addr
 * last,libc,none` starts HAProxy without them. `exec` makes the master PID 1,
 * so `docker stop`'s SIGUSR1 (the official image's STOPSIGNAL) reaches it: a
 * soft stop, cut at `hard-stop-after` (30 s), which the load balancer's stop
 * timeout (35 s, lib/tiers/load-balancer-tier.ts) outlasts.
 *
 * On a node of a pair (a keepalived.conf is present), keepalived starts first, in
 * the background: the script fills in the interface that reaches the first peer,
 * checks the config, and starts VRRP only (`-P`). keepalived lives and dies with
 * the node: on Docker with the container (HAProxy is PID 1), on a VM with the
 * unit's control group; its own check on HAProxy gives the address up when HAProxy
 * dies or hangs while keepalived lives on.
 */
export function renderLoadBalancerStartScript(): string {
  const run = `${PATHS.runDir}/keepalived`;
  return [
    SCRIPT_HEADER,
    `CONFIG=${PATHS.haproxyConfig}`,
    `KEEPALIVED_CONFIG=${PATHS.keepalivedConfig}`,
    'haproxy -c -q -f "$CONFIG"',
    'if [ -f "$KEEPALIVED_CONFIG" ]; then',
    "  peer=$(sed -n '/unicast_peer {/{n;s/^ *//;p;q;}' \"$KEEPALIVED_CONFIG\")",
    "  iface=$(ip -o -4 route get \"$peer\" | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p')",
    '  if [ -z "$iface" ]; then log "no interface reaches the VRRP peer $peer"; exit 1; fi',
    `  mkdir -p ${run}`,
    `  sed "s/${KEEPALIVED_INTERFACE_PLACEHOLDER}/$iface/" "$KEEPALIVED_CONFIG" > ${run}/keepalived.conf`,
    `  keepalived -t -f ${run}/keepalived.conf`,
    '  log "starting keepalived (VRRP on $iface, peer $peer)"',
    "  # -n: no fork (its PID is ours to know); -l -D: log to stdout; -P: VRRP only.",
    `  keepalived -n -l -D -P -f ${run}/keepalived.conf -p ${run}/keepalived.pid -r ${run}/vrrp.pid &`,
    "fi",
    'log "starting haproxy"',
    "# -W: master-worker (reload with SIGUSR2); -db: stay in the foreground.",
    'exec haproxy -W -db -f "$CONFIG"',
    "",
  ].join("\n");
}
