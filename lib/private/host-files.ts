import { HEALTHCHECK_SCRIPT, startScriptPath } from "../../templates/paths";
import { renderHttpHealthcheckScript } from "../../templates/scripts/healthcheck";
import { HostFile } from "../targets/target";

/** The start script of a role, at the path every target runs it from. */
export function startScriptFile(role: string, content: string): HostFile {
  return { path: startScriptPath(role), content, executable: true };
}

/** The HTTP probe used by the load balancer, web and app health checks. */
export function httpHealthcheckFile(): HostFile {
  return { path: HEALTHCHECK_SCRIPT, content: renderHttpHealthcheckScript(), executable: true };
}

/** Health check command: GET 127.0.0.1:port/path must answer 200. */
export function httpHealthCheck(port: number, path: string): string[] {
  return ["/bin/sh", HEALTHCHECK_SCRIPT, String(port), path];
}

/** Command that runs a role's start script. */
export function startCommand(role: string): string[] {
  return ["/bin/sh", startScriptPath(role)];
}
