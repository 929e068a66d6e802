import { AlertmanagerConfig, renderAlertmanagerConfig, validateAlertmanagerConfig } from "../../../templates/monitoring/alertmanager";
import { ConfigValidationError } from "../../../templates/validate";
import { hasBinary } from "../../helpers/binaries";
import { runIn, tempDirPerFile } from "./tools";

const webhook: AlertmanagerConfig = { receiver: { webhookUrl: "http://127.0.0.1:9099/alerts" } };
const email: AlertmanagerConfig = {
  receiver: {
    email: {
      to: "ops@example.com, Oncall <oncall@example.com>",
      from: "alertmanager@example.com",
      smarthost: "smtp.example.com:587",
      authUsername: "alertmanager",
      authPasswordFile: "/etc/prometheus/smtp-password",
    },
  },
  groupWait: "10s",
  groupInterval: "1m",
  repeatInterval: "12h",
  groupBy: ["alertname", "instance"],
};

describe("renderAlertmanagerConfig", () => {
  test("a webhook receiver by default, with send_resolved and the default timings", () => {
    const yml = renderAlertmanagerConfig(webhook);
    expect(yml).toContain(
      "route:\n  receiver: default\n  group_by:\n    - alertname\n    - job\n  group_wait: 30s\n  group_interval: 5m\n  repeat_interval: 4h\n",
    );
    expect(yml).toContain('receivers:\n  - name: default\n    webhook_configs:\n      - url: "http://127.0.0.1:9099/alerts"\n        send_resolved: true\n');
  });

  test("an email receiver reads its password from a file and requires TLS", () => {
    const yml = renderAlertmanagerConfig(email);
    expect(yml).toContain("    email_configs:\n");
    expect(yml).toContain('      - to: "ops@example.com, Oncall <oncall@example.com>"\n');
    expect(yml).toContain('        smarthost: "smtp.example.com:587"\n');
    expect(yml).toContain("        auth_password_file: /etc/prometheus/smtp-password\n");
    expect(yml).toContain("        require_tls: true\n");
    expect(yml).not.toContain("auth_password:");
    expect(yml).toContain("  group_wait: 10s\n  group_interval: 1m\n  repeat_interval: 12h\n");
  });

  test.each<[AlertmanagerConfig, string, RegExp]>([
    [{ receiver: { webhookUrl: "127.0.0.1:9099/alerts" } }, "receiver.webhookUrl", /http/],
    [{ receiver: { webhookUrl: "ftp://host/x" } }, "receiver.webhookUrl", /http/],
    [{ receiver: {} as never }, "receiver", /exactly one/],
    [{ receiver: { webhookUrl: "http://h/", ...email.receiver } as never }, "receiver", /exactly one/],
    [{ receiver: { email: { to: "nobody", from: "a@b.c", smarthost: "smtp:25" } } }, "receiver.email.to", /mail address/],
    [{ receiver: { email: { to: "a@b.c", from: "", smarthost: "smtp:25" } } }, "receiver.email.from", /mail address/],
    [{ receiver: { email: { to: "a@b.c", from: "a@b.c", smarthost: "smtp" } } }, "receiver.email.smarthost", /host:port/],
    [{ receiver: { email: { to: "a@b.c", from: "a@b.c", smarthost: "smtp:25", authPasswordFile: "pw" } } }, "receiver.email.authPasswordFile", /absolute/],
    [{ receiver: { email: { to: "a@b.c", from: "a@b.c", smarthost: "smtp:25", authPasswordFile: "/pw" } } }, "receiver.email.authUsername", /needs both/],
    [{ ...webhook, groupWait: "30" }, "groupWait", /duration/],
    [{ ...webhook, groupInterval: "0s" }, "groupInterval", /longer than zero/],
    [{ ...webhook, repeatInterval: "four hours" }, "repeatInterval", /duration/],
    [{ ...webhook, groupBy: ["alert-name"] }, "groupBy", /label names/],
  ])("rejects bad input %#: %s", (config, field, message) => {
    const problems = validateAlertmanagerConfig(config);
    expect(problems.map((p) => p.field)).toContain(field);
    expect(problems.join("; ")).toMatch(message);
    expect(() => renderAlertmanagerConfig(config)).toThrow(ConfigValidationError);
  });
});

describe("amtool check-config", () => {
  const dir = tempDirPerFile("alertmanager-config-");
  const run = hasBinary("amtool") ? test : test.skip;

  run.each<[string, AlertmanagerConfig]>([
    ["webhook", webhook],
    ["email", email],
    [
      "email without authentication or TLS",
      { receiver: { email: { to: "a@example.com", from: "b@example.com", smarthost: "10.0.0.25:25", requireTls: false } } },
    ],
    ["grouping by every label", { ...webhook, groupBy: ["..."] }],
  ])("accepts the %s config", (_name, config) => {
    const result = runIn(dir(), { "alertmanager.yml": renderAlertmanagerConfig(config) }, "amtool", ["check-config", "alertmanager.yml"]);
    expect(result.output).toContain("SUCCESS");
    expect(result.output).toContain(" - 1 receivers");
    expect(result.status).toBe(0);
  });
});
