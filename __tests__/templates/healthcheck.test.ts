/**
 * The HTTP probe (healthcheck-http.sh), run for real against a small HTTP
 * server on 127.0.0.1: under bash, and under sh with a PATH that has no bash but
 * wget, or curl, or neither (a temp dir of symlinks to what this machine has;
 * nothing is installed). Exit 0 iff the answer is 200.
 */
import { execFile, spawnSync } from "child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { createServer, Server } from "http";
import { AddressInfo } from "net";
import { tmpdir } from "os";
import { join } from "path";
import { renderHttpHealthcheckScript } from "../../templates/scripts/healthcheck";

const script = renderHttpHealthcheckScript();

/** Where a command lives on this machine, or undefined. */
function which(command: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  const path = r.stdout.trim();
  return r.status === 0 && path.startsWith("/") ? path : undefined;
}

let dir: string;
let scriptPath: string;
let server: Server;
let port: number;
let closedPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "healthcheck-"));
  scriptPath = join(dir, "healthcheck-http.sh");
  writeFileSync(scriptPath, script);
  chmodSync(scriptPath, 0o755);
  server = createServer((req, res) => {
    if (req.url === "/health") return void res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
    if (req.url === "/moved") return void res.writeHead(302, { Location: "/health" }).end();
    if (req.url === "/no-reason") return void req.socket.end("HTTP/1.1 200\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    res.writeHead(503, { "Content-Type": "text/plain" }).end("draining\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  // A port nothing listens on: one a server had, closed again.
  const other = createServer();
  await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
  closedPort = (other.address() as AddressInfo).port;
  await new Promise<void>((resolve) => other.close(() => resolve()));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** A bin dir holding only symlinks to these commands (sh and cat always). */
function binDir(name: string, commands: string[]): string {
  const bin = join(dir, name);
  mkdirSync(bin, { recursive: true });
  for (const command of ["sh", "cat", ...commands]) {
    const target = which(command);
    if (!target) throw new Error(`${command} is not on this machine`);
    try {
      symlinkSync(target, join(bin, command));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  return bin;
}

/** Runs the probe asynchronously (the server answers from this process). */
function probe(interpreter: string, env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(interpreter, [scriptPath, ...args], { env, timeout: 15000 }, (error, _stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stderr });
    });
  });
}

interface Variant {
  name: string;
  /** What the PATH holds besides sh and cat. */
  tools: string[];
  interpreter: (bin: string) => string;
}

const variants: Variant[] = [
  { name: "bash (its /dev/tcp)", tools: ["bash"], interpreter: () => which("bash") ?? "bash" },
  { name: "sh with bash on the PATH", tools: ["bash"], interpreter: (bin) => join(bin, "sh") },
  { name: "sh with wget, no bash", tools: ["wget"], interpreter: (bin) => join(bin, "sh") },
  { name: "sh with curl, no bash", tools: ["curl"], interpreter: (bin) => join(bin, "sh") },
];

describe("healthcheck-http.sh", () => {
  test("is POSIX sh with no ${ or %{ for Terraform to read", () => {
    expect(script.startsWith("#!/bin/sh\n")).toBe(true);
    expect(script).not.toMatch(/\$\{|%\{/);
    expect(spawnSync("sh", ["-n"], { input: script, encoding: "utf8" }).stderr).toBe("");
    const bash = which("bash");
    if (bash) expect(spawnSync(bash, ["-n"], { input: script, encoding: "utf8" }).stderr).toBe("");
  });

  for (const variant of variants) {
    const available = variant.tools.every((t) => which(t) !== undefined);
    // In CI a missing tool is an error, never a skip (scripts/install-test-deps.sh installs them all).
    if (!available && process.env.CI)
      throw new Error(
        `${variant.tools.join(", ")} not on this machine: the probe "${variant.name}" must be tested in CI; install it with scripts/install-test-deps.sh`,
      );
    const maybe = available ? describe : describe.skip;
    if (!available) console.warn(`${variant.tools.join(", ")} not on this machine: skipping the probe "${variant.name}"`);
    maybe(variant.name, () => {
      let env: NodeJS.ProcessEnv;
      let interpreter: string;
      beforeAll(() => {
        const bin = binDir(variant.tools.join("-"), variant.tools);
        env = { PATH: bin };
        interpreter = variant.interpreter(bin);
      });

      test("200 passes", async () => {
        expect(await probe(interpreter, env, String(port), "/health")).toEqual({ code: 0, stderr: "" });
        expect((await probe(interpreter, env, String(port), "/no-reason")).code).toBe(0);
      });

      test("a 503 fails and says what came back", async () => {
        const r = await probe(interpreter, env, String(port), "/draining");
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(new RegExp(`unhealthy: 127\\.0\\.0\\.1:${port}/draining answered HTTP/1\\.1 503 Service Unavailable`));
      });

      test("a redirect is not a 200", async () => {
        const r = await probe(interpreter, env, String(port), "/moved");
        expect(r.code).toBe(1);
        expect(r.stderr).toContain("answered HTTP/1.1 302");
      });

      test("a closed port fails", async () => {
        const r = await probe(interpreter, env, String(closedPort), "/health");
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`unhealthy: no HTTP answer from 127.0.0.1:${closedPort}/health`);
      });
    });
  }

  test("the path defaults to /", async () => {
    const r = await probe("sh", { PATH: process.env.PATH }, String(port));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`127.0.0.1:${port}/ answered HTTP/1.1 503`);
  });

  test("an image with neither bash, wget nor curl fails with a clear message", async () => {
    const bin = binDir("nothing", []);
    const r = await probe(join(bin, "sh"), { PATH: bin }, String(port), "/health");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("this image has neither bash, wget nor curl; the HTTP probe needs one of them");
  });

  test("without a port it prints its usage and fails", async () => {
    const r = await probe("sh", { PATH: process.env.PATH });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("usage: healthcheck-http.sh PORT [PATH]");
  });
});
