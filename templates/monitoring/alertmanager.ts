import { assertNoProblems, ConfigProblem, isAbsolutePath } from "../validate";
import { isPositivePrometheusDuration, isPrometheusLabelName, PrometheusDuration } from "./common";
import { isHostPort } from "./prometheus";
import { toYaml } from "./yaml";

/** Alerts go to an HTTP endpoint as Alertmanager's webhook JSON (the default kind of receiver). */
export interface WebhookReceiver {
  /** http:// or https:// URL the alerts are POSTed to. */
  readonly webhookUrl: string;
  /** Also send a notification when an alert resolves. @default true */
  readonly sendResolved?: boolean;
}

export interface EmailSettings {
  /** Recipient address(es), comma-separated as Alertmanager takes them. */
  readonly to: string;
  /** Sender address. */
  readonly from: string;
  /** SMTP server as "host:port". */
  readonly smarthost: string;
  /** SMTP user name. @default none (no authentication) */
  readonly authUsername?: string;
  /** File on the Alertmanager host holding the SMTP password (never the password itself in the config). @default none */
  readonly authPasswordFile?: string;
  /** Require STARTTLS. @default true */
  readonly requireTls?: boolean;
  /** Also send a mail when an alert resolves. @default true */
  readonly sendResolved?: boolean;
}

/** Alerts go out by mail. */
export interface EmailReceiver {
  readonly email: EmailSettings;
}

export type AlertReceiver = WebhookReceiver | EmailReceiver;

/** alertmanager.yml: one receiver every alert goes to, grouped and repeated as set here. */
export interface AlertmanagerConfig {
  readonly receiver: AlertReceiver;
  /** How long to wait for more alerts of a new group before the first notification. @default "30s" */
  readonly groupWait?: PrometheusDuration;
  /** How long to wait before notifying about new alerts in a group already notified. @default "5m" */
  readonly groupInterval?: PrometheusDuration;
  /** How long before a notification still firing is sent again. @default "4h" */
  readonly repeatInterval?: PrometheusDuration;
  /** Labels alerts are grouped by into one notification. @default ["alertname", "job"] */
  readonly groupBy?: readonly string[];
}

export const ALERTMANAGER_DEFAULTS = {
  groupWait: "30s",
  groupInterval: "5m",
  repeatInterval: "4h",
  groupBy: ["alertname", "job"],
  sendResolved: true,
  requireTls: true,
  /** The name of the one receiver in the rendered config. */
  receiverName: "default",
} as const;

/** A mail address in the "local@domain" form, optionally as "Name <local@domain>". */
function isMailAddress(value: string): boolean {
  const bare = /^[^\s<>@",]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/;
  const named = /^[^<>\n",]*<([^\s<>@",]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*)>$/;
  return bare.test(value.trim()) || named.test(value.trim());
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "" && !/\s/.test(value);
  } catch {
    return false;
  }
}

export function validateAlertmanagerConfig(config: AlertmanagerConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const add = (field: string, message: string) => problems.push(new ConfigProblem(field, message));
  const receiver = config.receiver as Partial<WebhookReceiver & EmailReceiver>;
  const hasWebhook = receiver.webhookUrl !== undefined;
  const hasEmail = receiver.email !== undefined;
  if (hasWebhook === hasEmail) add("receiver", "receiver must have exactly one of webhookUrl and email");
  if (hasWebhook && !isHttpUrl(receiver.webhookUrl ?? ""))
    add("receiver.webhookUrl", `receiver.webhookUrl "${receiver.webhookUrl}" is not an http:// or https:// URL`);
  if (receiver.email) {
    const email = receiver.email;
    const to = typeof email.to === "string" ? email.to : "";
    if (to.trim() === "" || !to.split(",").every(isMailAddress))
      add("receiver.email.to", `receiver.email.to "${email.to}" is not a mail address or a comma-separated list of them`);
    if (typeof email.from !== "string" || !isMailAddress(email.from)) add("receiver.email.from", `receiver.email.from "${email.from}" is not a mail address`);
    if (typeof email.smarthost !== "string" || !isHostPort(email.smarthost))
      add("receiver.email.smarthost", `receiver.email.smarthost "${email.smarthost}" is not in "host:port" form`);
    if (email.authUsername !== undefined && (email.authUsername === "" || /[\s"]/.test(email.authUsername)))
      add("receiver.email.authUsername", "receiver.email.authUsername must be a non-empty name without spaces or quotes");
    if (email.authPasswordFile !== undefined && !isAbsolutePath(email.authPasswordFile))
      add("receiver.email.authPasswordFile", `receiver.email.authPasswordFile "${email.authPasswordFile}" is not an absolute path`);
    if (email.authPasswordFile !== undefined && email.authUsername === undefined)
      add("receiver.email.authUsername", "receiver.email.authPasswordFile is set but authUsername is not: SMTP authentication needs both");
  }
  for (const field of ["groupWait", "groupInterval", "repeatInterval"] as const) {
    const value = config[field];
    if (value !== undefined && !isPositivePrometheusDuration(value))
      add(field, `${field} "${value}" is not a duration longer than zero (for example "30s", "5m", "4h")`);
  }
  const groupBy = config.groupBy ?? ALERTMANAGER_DEFAULTS.groupBy;
  if (!(groupBy.length === 1 && groupBy[0] === "...") && !groupBy.every((label) => isPrometheusLabelName(label)))
    add("groupBy", `groupBy [${groupBy.join(", ")}] must be label names (or ["..."] alone, to group by every label)`);
  return problems;
}

/** Renders alertmanager.yml. */
export function renderAlertmanagerConfig(config: AlertmanagerConfig): string {
  assertNoProblems("alertmanager config", validateAlertmanagerConfig(config));
  const d = ALERTMANAGER_DEFAULTS;
  const receiver = config.receiver as Partial<WebhookReceiver & EmailReceiver>;
  const email = receiver.email;
  const target = email
    ? {
        email_configs: [
          {
            to: email.to,
            from: email.from,
            smarthost: email.smarthost,
            auth_username: email.authUsername,
            auth_password_file: email.authPasswordFile,
            require_tls: email.requireTls ?? d.requireTls,
            send_resolved: email.sendResolved ?? d.sendResolved,
          },
        ],
      }
    : { webhook_configs: [{ url: receiver.webhookUrl ?? "", send_resolved: receiver.sendResolved ?? d.sendResolved }] };
  return toYaml(
    {
      route: {
        receiver: d.receiverName,
        group_by: [...(config.groupBy ?? d.groupBy)],
        group_wait: config.groupWait ?? d.groupWait,
        group_interval: config.groupInterval ?? d.groupInterval,
        repeat_interval: config.repeatInterval ?? d.repeatInterval,
      },
      receivers: [{ name: d.receiverName, ...target }],
    },
    ["Rendered by cdktf-ha-web. Do not edit: change the construct props instead."],
  );
}
