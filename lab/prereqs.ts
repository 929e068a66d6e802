/** What the lab needs from the machine, and a message that says how to get it. */
import { spawnSync } from "child_process";
import { readFileSync } from "fs";
import { hasCommand } from "./sys";

/**
 * Host binaries standing in for each official image, the Debian packages that
 * provide them, and the image's STOPSIGNAL (what `docker stop` sends when the
 * container sets no stop_signal): docker-library/haproxy has SIGUSR1 (HAProxy's
 * graceful soft stop; SIGTERM would stop it hard), nginx SIGQUIT (graceful
 * shutdown); mariadb and node set none, so Docker sends SIGTERM.
 */
export const IMAGE_BINARIES: { match: RegExp; software: string; binaries: string[]; packages: string[]; stopSignal: NodeJS.Signals }[] = [
  { match: /^(docker\.io\/)?(library\/)?haproxy(:|@|$)/, software: "haproxy", binaries: ["haproxy"], packages: ["haproxy"], stopSignal: "SIGUSR1" },
  { match: /^(docker\.io\/)?(library\/)?nginx(:|@|$)/, software: "nginx", binaries: ["nginx"], packages: ["nginx"], stopSignal: "SIGQUIT" },
  {
    match: /^(docker\.io\/)?(library\/)?mariadb(:|@|$)/,
    software: "mariadb",
    // mariadb-backup and mariadb-binlog: the backup source's ha-web-backup and binlog archiver.
    binaries: ["mariadbd", "mariadb-install-db", "mariadb", "mariadb-admin", "mariadb-backup", "mariadb-binlog"],
    packages: ["mariadb-server", "mariadb-client", "mariadb-backup"],
    stopSignal: "SIGTERM",
  },
  { match: /^(docker\.io\/)?(library\/)?node(:|@|$)/, software: "node", binaries: ["node"], packages: ["nodejs"], stopSignal: "SIGTERM" },
  // The base of the monitoring programs' images (build_args.BASE; their PACKAGES bring the programs, PACKAGE_BINARIES):
  // a shell and util-linux's setpriv (the start scripts drop to the prometheus user with it). No STOPSIGNAL: SIGTERM.
  {
    match: /^(docker\.io\/)?(library\/)?debian(:|@|$)/,
    software: "debian",
    binaries: ["sh", "setpriv"],
    packages: ["dash", "util-linux"],
    stopSignal: "SIGTERM",
  },
];

/** Always needed: namespaces, mounts, the per-namespace DNS server, and bash for the HTTP health probe. */
export const BASE_BINARIES: Record<string, string> = {
  ip: "iproute2",
  unshare: "util-linux",
  nsenter: "util-linux",
  mount: "mount",
  chroot: "coreutils",
  dnsmasq: "dnsmasq-base",
  bash: "bash",
  // The host firewall of every container namespace (lab/firewall.ts); the TLS material of a stack that asks for it (lab/tls.ts).
  nft: "nftables",
  openssl: "openssl",
};

/**
 * Programs a built image's extra Debian packages (`build_args.PACKAGES`) must
 * provide on this host; a package not listed here is checked with dpkg-query.
 */
export const PACKAGE_BINARIES: Record<string, string[]> = {
  iproute2: ["ip"],
  keepalived: ["keepalived"],
  nftables: ["nft"],
  openssl: ["openssl"],
  curl: ["curl"],
  // The monitoring tier's images (Debian's packages: Prometheus 2.42, Alertmanager 0.25, nginx exporter 0.11, mysqld exporter 0.14 on Debian 12).
  prometheus: ["prometheus", "promtool"],
  "prometheus-alertmanager": ["prometheus-alertmanager"],
  "prometheus-nginx-exporter": ["prometheus-nginx-exporter"],
  "prometheus-mysqld-exporter": ["prometheus-mysqld-exporter"],
  // The backup source's textfile exporter (only the textfile collector: the backup metrics).
  "prometheus-node-exporter": ["prometheus-node-exporter"],
};
export const BENCH_BINARIES: Record<string, string> = { wrk: "wrk", h2load: "nghttp2-client" };

export function softwareOf(image: string): (typeof IMAGE_BINARIES)[number] {
  const found = IMAGE_BINARIES.find((i) => i.match.test(image));
  if (!found) {
    throw new Error(
      `image "${image}": the lab runs host binaries from Debian packages and knows haproxy, nginx, mariadb, node and debian images only (mysql 8 has no Debian 12 package)`,
    );
  }
  return found;
}

export interface PrereqReport {
  ok: boolean;
  problems: string[];
  packages: string[];
}

export function checkPrereqs(images: string[], opts: { bench?: boolean; packages?: string[] } = {}): PrereqReport {
  const problems: string[] = [];
  const packages = new Set<string>();
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    problems.push("the lab must run as root: it creates network namespaces, bridges and mounts (run it with sudo)");
  }
  const need: Record<string, string> = { ...BASE_BINARIES, ...(opts.bench ? BENCH_BINARIES : {}) };
  for (const image of new Set(images)) {
    const sw = softwareOf(image);
    for (const b of sw.binaries) need[b] = sw.packages.join(" ");
  }
  const dpkgChecked: string[] = [];
  for (const p of new Set(opts.packages ?? [])) {
    const bins = PACKAGE_BINARIES[p];
    if (bins) for (const b of bins) need[b] = p;
    else dpkgChecked.push(p);
  }
  for (const [bin, pkg] of Object.entries(need)) {
    if (!hasCommand(bin)) {
      problems.push(`missing \`${bin}\` (Debian package ${pkg})`);
      for (const p of pkg.split(" ")) packages.add(p);
    }
  }
  for (const p of dpkgChecked) {
    const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", p], { encoding: "utf8" });
    if (r.status !== 0 || !/install ok installed/.test(String(r.stdout))) {
      problems.push(`missing Debian package ${p} (a built image of the stack adds it to its base: build_args.PACKAGES)`);
      packages.add(p);
    }
  }
  let filesystems = "";
  try {
    filesystems = readFileSync("/proc/filesystems", "utf8");
  } catch {
    /* reported below */
  }
  if (!/\boverlay\b/.test(filesystems)) problems.push("the kernel has no overlay filesystem (modprobe overlay)");
  return { ok: problems.length === 0, problems, packages: [...packages] };
}

export function prereqMessage(report: PrereqReport): string {
  const lines = ["The lab cannot run on this machine:", ...report.problems.map((p) => `  - ${p}`)];
  if (report.packages.length > 0) {
    lines.push(
      "",
      `Install the missing packages (Debian 12, as root):  sudo scripts/install-test-deps.sh`,
      `  (or: apt-get install --no-install-recommends ${report.packages.join(" ")})`,
    );
  }
  return lines.join("\n");
}
