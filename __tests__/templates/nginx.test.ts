import { NginxConfig, renderIndexHtml, renderNginxConfig, validateNginxConfig } from "../../templates/nginx";
import { PATHS } from "../../templates/paths";
import { hasBinary, isRoot } from "../helpers/binaries";
import { nginxConfigTest, withNginxStateDir } from "../helpers/nginx";

const base: NginxConfig = { nodeName: "web-1", app: { host: "127.0.0.1", port: 3000 } };

describe("renderNginxConfig", () => {
  const conf = renderNginxConfig(base);

  test("proxies the app prefix to the local app with upstream keep-alive", () => {
    expect(conf).toMatch(/upstream app \{\n\s+server 127\.0\.0\.1:3000 max_fails=0;\n\s+keepalive 16;/);
    expect(conf).toMatch(/location \/api\/ \{\n\s+proxy_pass http:\/\/app;\n\s+proxy_http_version 1\.1;\n\s+proxy_set_header Connection "";/);
  });

  test("passes on the load balancer's X-Forwarded-Proto (TLS ends there), its own scheme without one", () => {
    expect(conf).toContain("proxy_set_header X-Forwarded-Proto $forwarded_proto;");
    expect(conf).toMatch(/map \$http_x_forwarded_proto \$forwarded_proto \{\n\s+default \$http_x_forwarded_proto;\n\s+"" \$scheme;\n\s+\}/);
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
    [{ appPathPrefix: "api" }, /appPathPrefix "api" must be a path below \/ that starts and ends with \//],
    [{ appPathPrefix: "/" }, /"\/" itself would shadow the static files/],
    [{ healthPath: "/nginx-health" }, /Nginx's own liveness path/],
    [{ app: { host: "bad host", port: 3000 } }, /not a host name/],
  ])("rejects bad input %#", (override, message) => {
    const config = { ...base, ...override } as NginxConfig;
    expect(validateNginxConfig(config).join("; ")).toMatch(message);
    expect(() => renderNginxConfig(config)).toThrow(message);
  });

  test("index page names the node", () => {
    expect(renderIndexHtml("web-2")).toContain("<code>web-2</code>");
  });

  test("stateDir moves every path Nginx writes, and nothing else", () => {
    expect(renderNginxConfig({ ...base, stateDir: PATHS.nginxStateDir })).toBe(conf);
    const moved = renderNginxConfig({ ...base, stateDir: "/tmp/nginx-state" });
    expect(moved).toBe(withNginxStateDir(conf, "/tmp/nginx-state"));
    expect(moved).not.toContain(PATHS.nginxStateDir);
    expect(moved).toContain("pid /tmp/nginx-state/nginx.pid;");
    expect(validateNginxConfig({ ...base, stateDir: "relative/dir" }).join("; ")).toMatch(/stateDir "relative\/dir" must be an absolute path/);
  });
});

// nginx -t needs root (the "user" directive); its pid and temp paths go to a temp dir, never PATHS.nginxStateDir.
const nginx = hasBinary("nginx") && isRoot() ? test : test.skip;
nginx("nginx -t accepts the rendered config", () => {
  for (const [name, config] of Object.entries({
    default: base,
    docker: { ...base, app: { host: "localhost", port: 3000 }, listenPort: 8080, statusPort: null },
  })) {
    // The config as rendered, only its state directory moved.
    const result = nginxConfigTest((stateDir) => {
      expect(renderNginxConfig({ ...config, stateDir })).toBe(withNginxStateDir(renderNginxConfig(config), stateDir));
      return renderNginxConfig({ ...config, stateDir });
    });
    expect({ name, status: result.status, stderr: result.status === 0 ? "" : result.stderr }).toEqual({ name, status: 0, stderr: "" });
  }
});
