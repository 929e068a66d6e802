/**
 * Predicates shared by the Prometheus, Alertmanager and alert-rule renderers.
 */

/** A Prometheus duration such as "15s", "1m30s" or "4h": units y, w, d, h, m, s, ms, largest first. */
export type PrometheusDuration = string;

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [365 * 86400000, 7 * 86400000, 86400000, 3600000, 60000, 1000, 1];

/** Milliseconds in a Prometheus duration, or undefined when `value` is not one ("0" is one: zero). */
export function prometheusDurationMs(value: string): number | undefined {
  if (value === "0") return 0;
  const match = DURATION.exec(value);
  if (!match || value === "") return undefined;
  return UNIT_MS.reduce((sum, unit, i) => sum + Number(match[i + 1] ?? 0) * unit, 0);
}

/** True for a duration Prometheus and Alertmanager parse, zero included. */
export function isPrometheusDuration(value: string): boolean {
  return prometheusDurationMs(value) !== undefined;
}

/** True for a duration longer than zero (scrape and evaluation intervals, group waits). */
export function isPositivePrometheusDuration(value: string): boolean {
  return (prometheusDurationMs(value) ?? 0) > 0;
}

/** A Prometheus label name a user may set (names starting with `__` are Prometheus' own). */
export function isPrometheusLabelName(value: string): boolean {
  return /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(value) && !value.startsWith("__");
}

/**
 * The label every scrape target should carry with the name of the machine (VM or
 * container) it runs on. The rules use it to tell "the machine is down" from "one
 * exporter on it is down"; targets without it still alert, only less precisely.
 */
export const NODE_LABEL = "node";
