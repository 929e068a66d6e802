import { spawnSync } from "child_process";
import { existsSync } from "fs";
import { join } from "path";

/**
 * Every program the tests, the lab and its benchmark run on this machine, and
 * the Debian 12 package that provides it: the one list `__tests__/prerequisites.test.ts`
 * checks (each must be on PATH, or the test fails naming the package) and
 * `scripts/install-test-deps.sh` must install (the same test compares the two).
 *
 * `essential`: part of every Debian install (debootstrap minbase), so the
 * script leaves it alone rather than reinstalling (and upgrading) it.
 */
export interface Prerequisite {
  /** The command looked up on PATH. */
  binary: string;
  /** Run it with these arguments too, and require exit status 0 (a Python module, say). */
  check?: string[];
  /** The Debian 12 package that provides it. */
  package: string;
  essential?: boolean;
  /** Who runs it, for the failure message. */
  usedBy: string;
}

export const PREREQUISITES: readonly Prerequisite[] = [
  // The validators and servers the unit and construct tests run.
  { binary: "haproxy", package: "haproxy", usedBy: "`haproxy -c` on the rendered configs, the lab's load balancer" },
  { binary: "nginx", package: "nginx", usedBy: "`nginx -t` on the rendered configs, the lab's web nodes" },
  { binary: "mariadbd", package: "mariadb-server", usedBy: "the MariaDB primary + replica test, the lab's database" },
  { binary: "mariadb-install-db", package: "mariadb-server", usedBy: "the database start scripts (test and lab)" },
  { binary: "mariadb", package: "mariadb-client", usedBy: "the database tests and the lab's replication checks" },
  { binary: "mariadb-admin", package: "mariadb-client", usedBy: "the database start scripts (test and lab)" },
  { binary: "mariadb-backup", package: "mariadb-backup", usedBy: "the backup command's test on a real server (templates/database-backup)" },
  { binary: "mariadb-binlog", package: "mariadb-client", usedBy: "the binlog archiver and the restore (their tests; the lab's backup source)" },
  { binary: "shellcheck", package: "shellcheck", usedBy: "shellcheck on the rendered backup scripts" },
  { binary: "cloud-init", package: "cloud-init", usedBy: "`cloud-init schema` on the AWS user data" },
  { binary: "systemd-analyze", package: "systemd", usedBy: "`systemd-analyze verify` on the AWS systemd units" },
  { binary: "python3", package: "python3", usedBy: "parsing the cloud-init YAML with PyYAML" },
  { binary: "python3", check: ["-c", "import yaml"], package: "python3-yaml", usedBy: "parsing the cloud-init YAML with PyYAML (`import yaml`)" },
  { binary: "wget", package: "wget", usedBy: "the HTTP health probe's wget path (templates/healthcheck test)" },
  { binary: "curl", package: "curl", usedBy: "the HTTP health probe's curl path (templates/healthcheck test)" },
  { binary: "nft", package: "nftables", usedBy: "`nft -c` on the rendered firewall rulesets, the lab's per-namespace firewall" },
  { binary: "keepalived", package: "keepalived", usedBy: "`keepalived -t` on the rendered configs, the lab's load-balancer pair" },
  { binary: "promtool", package: "prometheus", usedBy: "`promtool check config`, `check rules` and `test rules` on the rendered monitoring files" },
  { binary: "amtool", package: "prometheus-alertmanager", usedBy: "`amtool check-config` on the rendered Alertmanager configs" },
  // The monitoring tier in the lab (its images are Debian's packages on a debian base): __tests__/lab/monitoring.test.ts.
  { binary: "prometheus", package: "prometheus", usedBy: "the lab's monitoring host (Prometheus)" },
  { binary: "prometheus-alertmanager", package: "prometheus-alertmanager", usedBy: "the lab's monitoring host (Alertmanager)" },
  { binary: "prometheus-nginx-exporter", package: "prometheus-nginx-exporter", usedBy: "the lab's web nodes' exporter sidecars" },
  { binary: "prometheus-mysqld-exporter", package: "prometheus-mysqld-exporter", usedBy: "the lab's database exporter sidecars" },
  {
    binary: "prometheus-node-exporter",
    package: "prometheus-node-exporter",
    usedBy: "systemd-analyze verify of the AWS node exporter unit (it names the binary)",
  },
  { binary: "openssl", package: "openssl", usedBy: "the lab's self-signed certificate and its TLS handshake checks" },
  // Namespaces and mounts: the database test's sandbox and every lab container.
  { binary: "ip", package: "iproute2", usedBy: "network namespaces (tests and lab)" },
  { binary: "sysctl", package: "procps", usedBy: "the lab's per-namespace sysctls" },
  { binary: "unshare", package: "util-linux", essential: true, usedBy: "mount and PID namespaces (tests and lab)" },
  { binary: "nsenter", package: "util-linux", essential: true, usedBy: "`lab exec`" },
  { binary: "setpriv", package: "util-linux", essential: true, usedBy: "the monitoring start scripts (drop to the prometheus user), in the lab" },
  { binary: "mountpoint", package: "util-linux", essential: true, usedBy: "the test sandbox" },
  { binary: "mount", package: "mount", essential: true, usedBy: "overlay and bind mounts (tests and lab)" },
  { binary: "chroot", package: "coreutils", essential: true, usedBy: "the test sandbox and the lab's containers" },
  { binary: "hostname", package: "hostname", essential: true, usedBy: "the lab's containers" },
  { binary: "getent", package: "libc-bin", essential: true, usedBy: "the lab's container users" },
  { binary: "sh", package: "dash", essential: true, usedBy: "`sh -n` on the start scripts, the sandbox" },
  { binary: "bash", package: "bash", essential: true, usedBy: "`bash -n` on the start scripts, the lab's HTTP health probe" },
  // The lab.
  { binary: "dnsmasq", package: "dnsmasq-base", usedBy: "the lab's per-namespace DNS (Docker's 127.0.0.11)" },
  { binary: "node", package: "nodejs", usedBy: "the lab's app containers (any Node.js on PATH; Debian's only where there is none)" },
  // The lab benchmark (`npm run bench:lab`).
  { binary: "wrk", package: "wrk", usedBy: "`npm run bench:lab`" },
  { binary: "h2load", package: "nghttp2-client", usedBy: "`npm run bench:lab`" },
];

/** The packages `scripts/install-test-deps.sh` must install: every non-essential one above. */
export function packagesToInstall(): string[] {
  return [...new Set(PREREQUISITES.filter((p) => !p.essential).map((p) => p.package))].sort();
}

/** Undefined when `p` is present and works; otherwise why not, naming the package to install. */
export function missingPrerequisite(p: Prerequisite): string | undefined {
  const found = spawnSync("sh", ["-c", 'command -v "$1"', "sh", p.binary], { encoding: "utf8" }).status === 0;
  const what = p.check ? `\`${[p.binary, ...p.check].join(" ")}\`` : `\`${p.binary}\``;
  const install = p.essential
    ? `install the Debian package ${p.package} (apt-get install ${p.package})`
    : `install the Debian package ${p.package}: run scripts/install-test-deps.sh as root (or apt-get install --no-install-recommends ${p.package})`;
  if (!found) {
    const sbin = ["/usr/sbin", "/sbin"].map((dir) => join(dir, p.binary)).find((file) => existsSync(file));
    if (sbin) return `${what} is installed (${sbin}) but not on PATH (${p.usedBy}): run the tests as root (sudo npm test), whose PATH has the sbin directories`;
    return `${what} is not on PATH (${p.usedBy}): ${install}`;
  }
  if (p.check) {
    const r = spawnSync(p.binary, p.check, { encoding: "utf8" });
    if (r.status !== 0) return `${what} fails (${p.usedBy}): ${install}\n${(r.stderr ?? String(r.error)).trim()}`;
  }
  return undefined;
}
