import { PATHS } from "../paths";
import { SCRIPT_HEADER } from "./shell";

/**
 * Runs the application bundle with node. The app reads its settings from the
 * environment (see app/README.md); DB_PASSWORD may come from DB_PASSWORD_FILE.
 */
export function renderAppStartScript(entry: string = PATHS.appEntry): string {
  return [SCRIPT_HEADER, 'log "starting application server"', `exec node ${entry}`, ""].join("\n");
}
