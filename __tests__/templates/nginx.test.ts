import { ChildProcess, spawn } from "child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { request as httpRequest } from "http";
import { AddressInfo, createServer, Server, Socket } from "net";
import { tmpdir } from "os";
import { join } from "path";
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

  test("an app that could not be reached answers 425 (not processed); Nginx's other 502/504 stay", () => {
    expect(conf).toMatch(/map \$upstream_bytes_sent \$app_not_reached \{\n\s+"~\^\[0 ,:\]\+\$" 1;\n\s+default 0;/);
    const api = conf.split("location /api/ {")[1].split("}")[0];
    expect(api).toContain("error_page 502 = @app_failed_502;");
    expect(api).toContain("error_page 504 = @app_failed_504;");
    expect(conf).toMatch(/location @app_failed_502 \{\n\s+if \(\$app_not_reached\) \{ return 425; \}\n\s+return 502;/);
    expect(conf).toMatch(/location @app_failed_504 \{\n\s+if \(\$app_not_reached\) \{ return 425; \}\n\s+return 504;/);
    // The app's own 5xx pass through untouched.
    expect(conf).not.toContain("proxy_intercept_errors on");
  });

  test("proxy timeouts: the app's from proxyTimeouts, the health path's short", () => {
    const api = conf.split("location /api/ {")[1].split("}")[0];
    expect(api).toContain("proxy_connect_timeout 2000ms;");
    expect(api).toContain("proxy_read_timeout 12000ms;");
    expect(api).toContain("proxy_send_timeout 12000ms;");
    const health = conf.split("location = /health {")[1].split("}")[0];
    expect(health).toContain("proxy_connect_timeout 1000ms;");
    expect(health).toContain("proxy_read_timeout 1000ms;");
    const custom = renderNginxConfig({ ...base, proxyTimeouts: { appConnectMs: 300, appReadMs: 4000, healthMs: 700 } });
    expect(custom).toContain("proxy_connect_timeout 300ms;");
    expect(custom).toContain("proxy_read_timeout 4000ms;");
    expect(custom).toContain("proxy_read_timeout 700ms;");
    expect(validateNginxConfig({ ...base, proxyTimeouts: { healthMs: 0 } }).map((p) => p.field)).toEqual(["proxyTimeouts.healthMs"]);
  });

  test("redirects are relative: never the client's Host header", () => {
    expect(conf).toMatch(/server_name _;\n(\s+#.*\n)*\s+absolute_redirect off;/);
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

  test("access log: every line at once by default; accessLogBufferKb writes from a buffer flushed every second", () => {
    expect(conf).toContain("    access_log /dev/stdout;");
    expect(conf).not.toContain("buffer=");
    expect(renderNginxConfig({ ...base, accessLogBufferKb: 0 })).toBe(conf);
    expect(renderNginxConfig({ ...base, accessLogBufferKb: 4 })).toContain("    access_log /dev/stdout combined buffer=4k flush=1s;");
    expect(renderNginxConfig({ ...base, accessLogBufferKb: 2 })).toContain("    access_log /dev/stdout combined buffer=2k flush=1s;");
  });

  test.each([5, -1, 1.5])("accessLogBufferKb %p is refused: above PIPE_BUF a pipe write is not atomic", (kb) => {
    const config = { ...base, accessLogBufferKb: kb };
    expect(validateNginxConfig(config).join("; ")).toMatch(new RegExp(`accessLogBufferKb is ${kb}; it must be a whole number of KiB from 0 .* to 4`));
    expect(() => renderNginxConfig(config)).toThrow(/accessLogBufferKb/);
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
  expect(nginxConfigTest((stateDir) => renderNginxConfig({ ...base, stateDir, proxyTimeouts: { appReadMs: 500, healthMs: 300 } })).status).toBe(0);
  for (const [name, config] of Object.entries({
    default: base,
    docker: { ...base, app: { host: "localhost", port: 3000 }, listenPort: 8080, statusPort: null },
    bufferedLog: { ...base, accessLogBufferKb: 4 },
  })) {
    // The config as rendered, only its state directory moved.
    const result = nginxConfigTest((stateDir) => {
      expect(renderNginxConfig({ ...config, stateDir })).toBe(withNginxStateDir(renderNginxConfig(config), stateDir));
      return renderNginxConfig({ ...config, stateDir });
    });
    expect({ name, status: result.status, stderr: result.status === 0 ? "" : result.stderr }).toEqual({ name, status: 0, stderr: "" });
  }
});

/**
 * The rendered config run for real on loopback, in front of an "app" that is
 * not there (refused), frozen (accepts, never answers) or resets once it has
 * read the request: only the first is Nginx's 425 (not processed).
 */
nginx(
  "nginx answers 425 only when its app never got the request, and redirects relatively",
  async () => {
    const dir = mkdtempSync(join(tmpdir(), "nginx-run-"));
    const servers: Server[] = [];
    let child: ChildProcess | undefined;
    try {
      const free = async () => {
        const s = createServer();
        await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
        const port = (s.address() as AddressInfo).port;
        await new Promise<void>((r) => s.close(() => r()));
        return port;
      };
      const listen = async (onConnection: (socket: Socket) => void) => {
        const s = createServer(onConnection);
        servers.push(s);
        await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
        return (s.address() as AddressInfo).port;
      };
      const frozen: Socket[] = [];
      const refusedPort = await free();
      const frozenPort = await listen((socket) => void frozen.push(socket));
      const resetPort = await listen((socket) => socket.once("data", () => socket.resetAndDestroy()));
      const listenPort = await free();
      const stateDir = join(dir, "state");
      for (const sub of ["", "body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(stateDir, sub), { recursive: true });
      // Three servers, one per app behaviour, on loopback only (the rendered one listens on every address).
      const conf = (appPort: number, port: number) =>
        renderNginxConfig({
          ...base,
          app: { host: "127.0.0.1", port: appPort },
          listenPort: port,
          statusPort: null,
          stateDir,
          staticRoot: dir,
          proxyTimeouts: { appReadMs: 400, healthMs: 200 },
        }).replace(`listen ${port} default_server;`, `listen 127.0.0.1:${port} default_server;`);
      const ports = { refused: listenPort, frozen: await free(), reset: await free() };
      const one = conf(refusedPort, ports.refused);
      const servers3 = [conf(frozenPort, ports.frozen), conf(resetPort, ports.reset)].map((c) => {
        const http = c.slice(c.indexOf("http {"));
        return http.slice(http.indexOf("    server {"), http.lastIndexOf("}"));
      });
      // The upstream names differ per server: rename them.
      const merged = one
        .replace(/\n\}\n$/, "\n" + servers3.map((s, i) => s.split("http://app").join(`http://app${i}`)).join("\n") + "}\n")
        .replace(
          "    upstream app {",
          [frozenPort, resetPort].map((p, i) => `    upstream app${i} {\n        server 127.0.0.1:${p} max_fails=0;\n    }`).join("\n") +
            "\n    upstream app {",
        );
      const file = join(dir, "nginx.conf");
      writeFileSync(file, merged);
      child = spawn("nginx", ["-c", file], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr!.on("data", (d) => (stderr += d));
      const get = (port: number, path: string, method = "GET") =>
        new Promise<{ status: number; location?: string; ms: number }>((resolve, reject) => {
          const t0 = Date.now();
          const req = httpRequest({ host: "127.0.0.1", port, path, method, headers: { host: "evil.example:8080" }, timeout: 5000 }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode!, location: res.headers.location, ms: Date.now() - t0 }));
          });
          req.on("error", reject);
          req.end(method === "POST" ? "{}" : undefined);
        });
      for (let i = 0; i < 50; i++) {
        if (
          await get(ports.refused, "/nginx-health").then(
            () => true,
            () => false,
          )
        )
          break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // Side by side: the frozen app's two timeouts run at the same time.
      const [refused, frozenApi, reset, frozenHealth, redirect] = await Promise.all([
        get(ports.refused, "/api/items", "POST"),
        get(ports.frozen, "/api/items", "POST"),
        get(ports.reset, "/api/items", "POST"),
        get(ports.frozen, "/health"),
        get(ports.refused, "/api"),
      ]);
      expect({
        refused: refused.status,
        frozen: frozenApi.status,
        reset: reset.status,
        frozenHealth: frozenHealth.status,
        stderr: stderr.includes("emerg") ? stderr : "",
      }).toEqual({
        refused: 425,
        frozen: 504,
        reset: 502,
        frozenHealth: 504,
        stderr: "",
      });
      expect(frozenApi.ms).toBeLessThan(400 + 1000);
      expect(frozenHealth.ms).toBeLessThan(200 + 1000);
      expect(redirect).toMatchObject({ status: 301, location: "/api/" });
      for (const s of frozen) s.destroy();
    } finally {
      if (child?.pid) child.kill("SIGTERM");
      if (child) await new Promise((r) => (child!.exitCode !== null ? r(null) : child!.once("exit", r)));
      for (const s of servers) s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
  30_000,
);
