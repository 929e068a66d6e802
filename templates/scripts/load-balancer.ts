import { PATHS } from "../paths";
import { SCRIPT_HEADER } from "./shell";

/**
 * Validates the rendered config, then runs HAProxy in master-worker mode in the
 * foreground. No wait for the web nodes' names: the config's `init-addr
 * last,libc,none` starts HAProxy without them. `exec` makes the master PID 1,
 * so `docker stop`'s SIGUSR1 (the official image's STOPSIGNAL) reaches it: a
 * soft stop, cut at `hard-stop-after` (30 s), which the load balancer's stop
 * timeout (35 s, lib/tiers/load-balancer-tier.ts) outlasts.
 */
export function renderLoadBalancerStartScript(): string {
  return [
    SCRIPT_HEADER,
    `CONFIG=${PATHS.haproxyConfig}`,
    'haproxy -c -q -f "$CONFIG"',
    'log "starting haproxy"',
    "# -W: master-worker (reload with SIGUSR2); -db: stay in the foreground.",
    'exec haproxy -W -db -f "$CONFIG"',
    "",
  ].join("\n");
}
