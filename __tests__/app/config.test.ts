import { ConfigError, describeConfig, loadConfig, parseHostPort, parseReaderHosts } from "../../app/config";

const noFile = (p: string): string => {
  throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
};

describe("loadConfig", () => {
  test("defaults", () => {
    const c = loadConfig({}, { hostname: () => "host-a", readFile: noFile });
    expect(c).toEqual({
      port: 3000,
      bindAddress: "0.0.0.0",
      metricsPort: 9464,
      metricsBindAddress: "0.0.0.0",
      nodeName: "host-a",
      writer: { host: "127.0.0.1", port: 3306 },
      readers: [],
      database: "app",
      user: "app",
      password: "",
      maxReplicaLagMs: 1000,
      lagSampleIntervalMs: 250,
      gtidWaitMs: 200,
      idempotencyTtlS: 86400,
    });
  });

  test("the app's tuning variables: bounded whole numbers, refused otherwise", () => {
    const c = loadConfig(
      { APP_MAX_REPLICA_LAG_MS: "0", APP_LAG_SAMPLE_INTERVAL_MS: "100", APP_GTID_WAIT_MS: "50", APP_IDEMPOTENCY_TTL_S: "3600" },
      { hostname: () => "h", readFile: noFile },
    );
    expect([c.maxReplicaLagMs, c.lagSampleIntervalMs, c.gtidWaitMs, c.idempotencyTtlS]).toEqual([0, 100, 50, 3600]);
    for (const [name, value] of [
      ["APP_MAX_REPLICA_LAG_MS", "-1"],
      ["APP_MAX_REPLICA_LAG_MS", "1s"],
      ["APP_LAG_SAMPLE_INTERVAL_MS", "10"],
      ["APP_GTID_WAIT_MS", "10001"],
      ["APP_IDEMPOTENCY_TTL_S", "59"],
    ]) {
      expect(() => loadConfig({ [name]: value }, { hostname: () => "h", readFile: noFile })).toThrow(new RegExp(name));
    }
  });

  test("full environment", () => {
    const c = loadConfig(
      {
        PORT: "8080",
        BIND_ADDRESS: "127.0.0.1",
        NODE_NAME: "web-1",
        DB_WRITER_HOST: "db-primary",
        DB_WRITER_PORT: "3307",
        DB_READER_HOSTS: "db-replica-1, db-replica-2:3310,,",
        DB_NAME: "shop",
        DB_USER: "shop_app",
        DB_PASSWORD: " pw with spaces ",
      },
      { hostname: () => "ignored", readFile: noFile },
    );
    expect(c.port).toBe(8080);
    expect(c.bindAddress).toBe("127.0.0.1");
    expect(c.nodeName).toBe("web-1");
    expect(c.writer).toEqual({ host: "db-primary", port: 3307 });
    expect(c.readers).toEqual([
      { host: "db-replica-1", port: 3306 },
      { host: "db-replica-2", port: 3310 },
    ]);
    expect(c.database).toBe("shop");
    expect(c.user).toBe("shop_app");
    // DB_PASSWORD is taken verbatim (only the file content is trimmed).
    expect(c.password).toBe(" pw with spaces ");
  });

  test("PORT=0 is allowed (ephemeral), blank values fall back to defaults", () => {
    const c = loadConfig({ PORT: "0", NODE_NAME: "  ", DB_READER_HOSTS: "  " }, { hostname: () => "h", readFile: noFile });
    expect(c.port).toBe(0);
    expect(c.nodeName).toBe("h");
    expect(c.readers).toEqual([]);
  });

  test("invalid ports are rejected", () => {
    expect(() => loadConfig({ PORT: "http" }, { readFile: noFile })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: "70000" }, { readFile: noFile })).toThrow(ConfigError);
    expect(() => loadConfig({ DB_WRITER_PORT: "0" }, { readFile: noFile })).toThrow(ConfigError);
    expect(() => loadConfig({ DB_READER_HOSTS: "a:x" }, { readFile: noFile })).toThrow(/DB_READER_HOSTS/);
  });

  test("DB_WRITER_HOST may carry its own port", () => {
    const c = loadConfig({ DB_WRITER_HOST: "db:3399", DB_WRITER_PORT: "3307" }, { readFile: noFile });
    expect(c.writer).toEqual({ host: "db", port: 3399 });
  });

  test("DB_PASSWORD_FILE: trimmed content, wins over DB_PASSWORD", () => {
    const read = jest.fn((p: string) => (p === "/run/secrets/db" ? "  s3cret\n" : noFile(p)));
    const c = loadConfig({ DB_PASSWORD_FILE: "/run/secrets/db", DB_PASSWORD: "other" }, { readFile: read });
    expect(c.password).toBe("s3cret");
    expect(read).toHaveBeenCalledWith("/run/secrets/db");
  });

  test("DB_PASSWORD_FILE unreadable -> ConfigError", () => {
    expect(() => loadConfig({ DB_PASSWORD_FILE: "/nope" }, { readFile: noFile })).toThrow("DB_PASSWORD_FILE: cannot read /nope (ENOENT)");
  });

  test("DB_PASSWORD_FILE with a real file", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require("node:fs") as typeof import("node:fs");
    const os = require("node:os") as typeof import("node:os");
    const path = require("node:path") as typeof import("node:path");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "app-cfg-"));
    const file = path.join(dir, "pw");
    fs.writeFileSync(file, "from-file\n");
    try {
      expect(loadConfig({ DB_PASSWORD_FILE: file }).password).toBe("from-file");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("describeConfig never contains the password", () => {
    const c = loadConfig({ DB_PASSWORD: "hunter2", DB_READER_HOSTS: "r1,r2:3307" }, { readFile: noFile });
    const text = JSON.stringify(describeConfig(c));
    expect(text).not.toContain("hunter2");
    expect(describeConfig(c)).toMatchObject({ password: "(set)", readers: ["r1:3306", "r2:3307"] });
    expect(describeConfig(loadConfig({}, { readFile: noFile })).password).toBe("(empty)");
  });
});

describe("parseHostPort / parseReaderHosts", () => {
  test.each([
    ["db", { host: "db", port: 3306 }],
    ["db:3307", { host: "db", port: 3307 }],
    [" 10.0.0.5:3310 ", { host: "10.0.0.5", port: 3310 }],
    ["[::1]", { host: "::1", port: 3306 }],
    ["[fd00::5]:3307", { host: "fd00::5", port: 3307 }],
    ["fd00::5", { host: "fd00::5", port: 3306 }],
  ])("%s", (input, expected) => {
    expect(parseHostPort(input, 3306)).toEqual(expected);
  });

  test.each(["", ":3306", "db:", "db:abc", "db:65536", "[::1", "[::1]x"])("rejects %j", (input) => {
    expect(() => parseHostPort(input, 3306)).toThrow(ConfigError);
  });

  test("list: order kept, blanks skipped, duplicates removed", () => {
    expect(parseReaderHosts("r1, r2:3307 ,r1:3306,,r3")).toEqual([
      { host: "r1", port: 3306 },
      { host: "r2", port: 3307 },
      { host: "r3", port: 3306 },
    ]);
    expect(parseReaderHosts(undefined)).toEqual([]);
    expect(parseReaderHosts("")).toEqual([]);
  });
});

describe("metrics listener configuration", () => {
  const load = (env: Record<string, string>) => loadConfig(env, { hostname: () => "h", readFile: noFile });

  test("defaults: port 9464 on the app's bind address", () => {
    expect(load({})).toMatchObject({ metricsPort: 9464, metricsBindAddress: "0.0.0.0" });
    expect(load({ BIND_ADDRESS: "127.0.0.1" })).toMatchObject({ metricsPort: 9464, metricsBindAddress: "127.0.0.1" });
  });

  test("METRICS_PORT and METRICS_BIND_ADDRESS", () => {
    expect(load({ BIND_ADDRESS: "127.0.0.1", METRICS_PORT: "9100", METRICS_BIND_ADDRESS: "10.0.1.5" })).toMatchObject({
      bindAddress: "127.0.0.1",
      metricsPort: 9100,
      metricsBindAddress: "10.0.1.5",
    });
    expect(load({ METRICS_BIND_ADDRESS: " :: " }).metricsBindAddress).toBe("::");
    expect(load({ METRICS_BIND_ADDRESS: "web-1-app" }).metricsBindAddress).toBe("web-1-app");
    // blank -> defaults; 0 -> ephemeral (tests)
    expect(load({ METRICS_PORT: " ", METRICS_BIND_ADDRESS: "" })).toMatchObject({ metricsPort: 9464, metricsBindAddress: "0.0.0.0" });
    expect(load({ METRICS_PORT: "0", PORT: "0" }).metricsPort).toBe(0);
  });

  test.each(["metrics", "9464x", "-1", "65536", "99999"])("rejects METRICS_PORT=%j", (v) => {
    expect(() => load({ METRICS_PORT: v })).toThrow(ConfigError);
    expect(() => load({ METRICS_PORT: v })).toThrow(/^METRICS_PORT: /);
  });

  test("METRICS_PORT must differ from PORT (metrics never on the app's listener)", () => {
    expect(() => load({ METRICS_PORT: "3000" })).toThrow("METRICS_PORT: must differ from PORT (3000)");
    expect(() => load({ PORT: "9464" })).toThrow(/must differ from PORT/);
    expect(() => load({ PORT: "8080", METRICS_PORT: "8080", METRICS_BIND_ADDRESS: "127.0.0.1" })).toThrow(ConfigError);
  });

  test.each(["http://0.0.0.0", "0.0.0.0:9464", "a b", "-bad", "bad-", "a..b", "[::1]"])("rejects METRICS_BIND_ADDRESS=%j", (v) => {
    expect(() => load({ METRICS_BIND_ADDRESS: v })).toThrow(/^METRICS_BIND_ADDRESS: invalid listen address/);
  });

  test("describeConfig shows the metrics listener", () => {
    expect(describeConfig(load({ METRICS_PORT: "9100" }))).toMatchObject({ metricsPort: 9100, metricsBindAddress: "0.0.0.0" });
  });
});
