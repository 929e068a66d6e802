import { PATHS } from "../paths";
import { SCRIPT_HEADER } from "./shell";

/** Validates the rendered config, then runs HAProxy in master-worker mode in the foreground. */
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
