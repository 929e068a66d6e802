import { spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { NginxConfig, renderIndexHtml, renderNginxConfig, validateNginxConfig } from "../../templates/nginx";
import { PATHS } from "../../templates/paths";
import { hasBinary, isRoot } from "../helpers/binaries";

const base: NginxConfig = { nodeName: "web-1", app: { host: "127.0.0.1", port: 3000 } };

describe("renderNginxConfig", () => {
  const conf = renderNginxConfig(base);

  test("proxies the app prefix to the local app with upstream keep-alive", () => {
    expect(conf).toMatch(/upstream app \{\n\s+server 127\.0\.0\.1:3000 max_fails=0;\n\s+keepalive 16;/);
    expect(conf).toMatch(/location \/api\/ \{\n\s+proxy_pass http:\/\/app;\n\s+proxy_http_version 1\.1;\n\s+proxy_set_header Connection "";/);
  });

  test("serves static files, hides its version, has liveness locations", () => {
    expect(conf).toContain(`root ${PATHS.staticRoot};`);
    expect(conf).toContain("server_tokens off;");
    expect(conf).toMatch(/location = \/health \{\n\s+proxy_pass http:\/\/app;/);
    expect(conf).toMatch(/location = \/nginx-health \{[^}]*return 200/);
    expect(conf).toContain("add_header X-Web-Node web-1 always;");
  });

  test("writes state only under its own directory and stays in the foreground", () => {
    expect(conf).toContain(`pid ${PATHS.nginxStateDir}/nginx.pid;`);
    expect(conf).toContain(`client_body_temp_path ${PATHS.nginxStateDir}/body;`);
    expect(conf).toContain("daemon off;");
  });

  test("stub_status listens on loopback only, and can be turned off", () => {
    expect(conf).toMatch(/listen 127\.0\.0\.1:8081;[\s\S]*stub_status;/);
    expect(renderNginxConfig({ ...base, statusPort: null })).not.toContain("stub_status");
  });

  test.each([
    [{ listenPort: 0 }, /listenPort 0 is outside/],
    [{ app: { host: "app", port: 70000 } }, /app.port 70000/],
    [{ statusPort: 80 }, /share a port/],
    [{ appPathPrefix: "api" }, /appPathPrefix "api" must start and end with \//],
    [{ app: { host: "bad host", port: 3000 } }, /not a host name/],
  ])("rejects bad input %#", (override, message) => {
    const config = { ...base, ...override } as NginxConfig;
    expect(validateNginxConfig(config).join("; ")).toMatch(message);
    expect(() => renderNginxConfig(config)).toThrow(message);
  });

  test("index page names the node", () => {
    expect(renderIndexHtml("web-2")).toContain("<code>web-2</code>");
  });
});

// nginx -t creates its temp directories and pid path, which live under /var/lib/ha-web: root only.
const nginx = hasBinary("nginx") && isRoot() ? test : test.skip;
nginx("nginx -t accepts the rendered config", () => {
  const dir = mkdtempSync(join(tmpdir(), "nginx-test-"));
  mkdirSync(PATHS.nginxStateDir, { recursive: true });
  for (const [name, config] of Object.entries({ default: base, docker: { ...base, app: { host: "localhost", port: 3000 }, listenPort: 8080, statusPort: null } })) {
    const file = join(dir, `${name}.conf`);
    writeFileSync(file, renderNginxConfig(config));
    // stdout to /dev/null: access_log /dev/stdout cannot be opened on node's socket pipes (the start script relays).
    const result = spawnSync("nginx", ["-t", "-c", file], { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] });
    expect({ name, status: result.status, stderr: result.status === 0 ? "" : result.stderr }).toEqual({ name, status: 0, stderr: "" });
  }
  rmSync(dir, { recursive: true, force: true });
});
