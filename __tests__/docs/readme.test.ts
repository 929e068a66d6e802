/**
 * The README's settings tables say what the output does: each default they
 * state is checked against the configs the `local` example stack really uploads.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { Testing } from "cdktf";
import { LocalStack } from "../../main";
import { DEFAULT_DOCKER_IMAGES } from "../../lib";
import { PATHS } from "../../templates/paths";
import { containers, SynthesizedStack, uploaded } from "../helpers/synth";

const readme = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
const byName = containers(JSON.parse(Testing.synth(new LocalStack(Testing.app(), "local"))) as SynthesizedStack);
const haproxyCfg = uploaded(byName["haweb-lb-1"], PATHS.haproxyConfig);
const nginxConf = uploaded(byName["haweb-web-1"], PATHS.nginxConfig);
const myCnf = uploaded(byName["haweb-db-primary"], PATHS.mysqlConfig);

/** The cells of the row for `prop` in the table under `### \`construct\``. */
function row(construct: string, prop: string): string[] {
  const section = readme.split(/^### /m).find((s) => s.startsWith(`\`${construct}\``));
  const line = section?.split("\n").find((l) => l.startsWith(`| \`${prop}\``));
  if (!line) throw new Error(`README.md has no row for ${prop} under ### \`${construct}\``);
  return line
    .split("|")
    .slice(1, -1)
    .map((c) => c.trim());
}

describe("LoadBalancerTier's table matches the rendered haproxy.cfg", () => {
  test("port and statsPort", () => {
    expect(row("LoadBalancerTier", "port")[1]).toBe("`80`");
    expect(haproxyCfg).toContain("bind 0.0.0.0:80\n");
    expect(row("LoadBalancerTier", "statsPort")[1]).toBe("`8404`");
    expect(haproxyCfg).toContain("bind 127.0.0.1:8404\n");
  });

  test("retries, and the exact retry-on list the README quotes", () => {
    const [, dflt, text] = row("LoadBalancerTier", "retries");
    expect(haproxyCfg).toContain(`retries ${dflt.replace(/`/g, "")}\n`);
    const retryOn = /`(retry-on [^`]+)`/.exec(text)?.[1];
    expect(retryOn).toBeDefined();
    expect(haproxyCfg).toContain(`    ${retryOn}\n`);
    expect(text).toContain("option redispatch 1");
    expect(haproxyCfg).toContain("option redispatch 1\n");
  });

  test("algorithm, health check and timeouts", () => {
    expect(row("LoadBalancerTier", "algorithm")[1]).toBe('`"roundrobin"`');
    expect(haproxyCfg).toContain("balance roundrobin\n");
    expect(row("LoadBalancerTier", "healthCheck")[1]).toBe("`GET /health`, every 1 s, fall 3, rise 2");
    expect(haproxyCfg).toContain("uri /health ");
    expect(haproxyCfg).toContain("check inter 1000ms fastinter 250ms fall 3 rise 2");
    expect(row("LoadBalancerTier", "timeouts")[1]).toBe("connect 5 s, client 50 s, server 15 s, http-request 10 s, check 500 ms");
    for (const line of ["timeout connect 5000ms", "timeout client 50000ms", "timeout server 15000ms", "timeout http-request 10000ms", "timeout check 500ms"])
      expect(haproxyCfg).toContain(line);
  });
});

describe("WebAppTier's table matches the rendered nginx.conf", () => {
  test("port, appPathPrefix, healthPath and statusPort", () => {
    expect(row("WebAppTier", "port")[1]).toBe("`80`");
    expect(nginxConf).toContain("listen 80 default_server;");
    expect(row("WebAppTier", "appPathPrefix")[1]).toBe('`"/api/"`');
    expect(nginxConf).toContain("location /api/ {");
    expect(row("WebAppTier", "healthPath")[1]).toBe('`"/health"`');
    expect(nginxConf).toContain("location = /health {");
    expect(row("WebAppTier", "statusPort")[1]).toBe("`8081`");
    expect(nginxConf).toContain("listen 127.0.0.1:8081;");
  });
});

describe("MysqlCluster's and DockerTarget's tables match the output", () => {
  test("port and buffer pool", () => {
    expect(row("MysqlCluster", "port")[1]).toBe("`3306`");
    expect(myCnf).toContain("port = 3306\n");
    expect(row("MysqlCluster", "innodbBufferPoolSize")[1]).toBe('`"128M"`');
    expect(myCnf).toContain("innodb_buffer_pool_size = 128M\n");
  });

  test("the default images are the ones the README lists", () => {
    const listed = row("DockerTarget", "images")[1]
      .match(/`[^`]+`/g)
      ?.map((s) => s.replace(/`/g, ""));
    // One Debian image serves the four monitoring programs (each with its package added).
    expect(listed).toEqual([...new Set(Object.values(DEFAULT_DOCKER_IMAGES))]);
  });
});
