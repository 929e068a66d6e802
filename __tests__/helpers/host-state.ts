import { spawnSync } from "child_process";
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, Stats } from "fs";
import { dirname, join, relative, sep } from "path";

/**
 * What a test run could leave on the machine: paths below the host
 * directories a start script or a validator writes to (/etc, /opt, /var,
 * /run), the entries of the temp dir, and the network namespaces. Taken by the
 * jest globalSetup before the run and by the globalTeardown after it
 * (`__tests__/helpers/global-setup.ts`, `global-teardown.ts`), which fails the
 * run with `describeLeftovers` when something new is there.
 */
export interface HostState {
  /** Every path (not following symbolic links) below the roots, up to each root's depth. */
  paths: string[];
  /** Names of the entries of the temp dir. */
  tmp: string[];
  /** Names of the network namespaces. */
  netns: string[];
}

export interface HostStateOptions {
  /** Directories to list, each `depth` levels deep (`/var` at 4 sees `/var/lib/ha-web/nginx/x`). */
  roots: { path: string; depth: number }[];
  /** Paths not listed, with everything below them: they change on their own. */
  exclude: string[];
  tmpdir: string;
  /** Temp dir entries that are not a test's: other jest runs' own temp dirs. */
  tmpExclude: RegExp[];
  /** Lists the network namespaces. */
  netns: () => string[];
}

/** Prefix of the per-run temp dir the globalSetup makes; every run removes its own. */
export const RUN_DIR_PREFIX = "cdktf-ha-web-run-";

/** The host paths the suite watches, minus the ones the system changes by itself. */
export function hostStateOptions(tmpdir: string): HostStateOptions {
  return {
    roots: [
      { path: "/etc", depth: 3 },
      { path: "/opt", depth: 3 },
      { path: "/var", depth: 4 },
      { path: "/run", depth: 3 },
    ],
    exclude: [
      // systemd, logins, journald, udev, util-linux and lock files: their own run-time state.
      "/run/user",
      "/run/systemd",
      "/run/udev",
      "/run/log",
      "/run/lock",
      "/run/mount",
      // `ip netns add` makes /run/netns once and leaves it; the namespaces are compared by name.
      "/run/netns",
      // Package manager state, caches, logs, mail and spool: changed by apt and daemons, never by a test.
      "/var/cache",
      "/var/log",
      "/var/tmp",
      "/var/spool",
      "/var/mail",
      "/var/backups",
      "/var/lib/apt",
      "/var/lib/dpkg",
      "/var/lib/systemd",
      "/var/lib/dhcp",
      "/var/lib/ucf",
      "/var/lib/man-db",
      "/var/lib/PackageKit",
    ],
    tmpdir,
    tmpExclude: [new RegExp(`^${RUN_DIR_PREFIX}`)],
    netns: () => listNetworkNamespaces().filter((name) => !inUseByAnotherProcess(name)),
  };
}

/**
 * True for a namespace NamespaceSandbox named after a process (`hwt-db-4242`)
 * that is alive and not this one: another jest run's on the same machine, in
 * use, not left behind. (This run's workers have ended by the teardown.)
 */
export function inUseByAnotherProcess(name: string): boolean {
  const m = /^hwt-.+-(\d+)$/.exec(name);
  if (!m || Number(m[1]) === process.pid) return false;
  try {
    process.kill(Number(m[1]), 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function listNetworkNamespaces(): string[] {
  const result = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
  if (result.status !== 0) return [];
  return result.stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[0])
    .filter(Boolean)
    .sort();
}

/** Paths below `root`, at most `depth` levels down; unreadable directories are listed but not entered. */
export function listTree(root: string, depth: number, exclude: readonly string[] = []): string[] {
  const excluded = (path: string) => exclude.some((e) => path === e || path.startsWith(e.endsWith(sep) ? e : e + sep));
  const paths: string[] = [];
  const walk = (dir: string, level: number) => {
    if (level > depth) return;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // gone meanwhile, or not readable
    }
    for (const name of names.sort()) {
      const path = join(dir, name);
      if (excluded(path)) continue;
      paths.push(path);
      let stat: Stats;
      try {
        stat = lstatSync(path); // a symbolic link (/var/run -> /run) is listed, never followed
      } catch {
        continue;
      }
      if (stat.isDirectory()) walk(path, level + 1);
    }
  };
  if (!excluded(root)) walk(root, 1);
  return paths;
}

export function takeHostState(options: HostStateOptions): HostState {
  return {
    paths: options.roots.flatMap((r) => listTree(r.path, r.depth, options.exclude)),
    tmp: existsSync(options.tmpdir)
      ? readdirSync(options.tmpdir)
          .filter((n) => !options.tmpExclude.some((re) => re.test(n)))
          .sort()
      : [],
    netns: options.netns(),
  };
}

export interface Leftover {
  kind: "path" | "tmp" | "netns";
  /** The path, the temp dir entry's full path, or the namespace's name. */
  what: string;
  /** For a new directory: how many new paths are below it (listed up to the watched depth). */
  below: number;
}

/**
 * What is in `after` and was not in `before`. A new directory is reported
 * once, with the number of new paths below it. Disappeared entries are not
 * reported: a test cannot leave those behind, and the system removes run-time
 * files on its own.
 */
export function leftBehind(before: HostState, after: HostState, tmpdir: string): Leftover[] {
  const added = (a: string[], b: string[]) => {
    const had = new Set(a);
    return b.filter((x) => !had.has(x));
  };
  const newPaths = added(before.paths, after.paths);
  const isNew = new Set(newPaths);
  const topmostOf = (path: string) => {
    let top = path;
    for (let p = dirname(path); p !== dirname(p); p = dirname(p)) if (isNew.has(p)) top = p;
    return top;
  };
  const byTopmost = new Map<string, Leftover>();
  for (const path of newPaths) {
    const top = topmostOf(path);
    if (!byTopmost.has(top)) byTopmost.set(top, { kind: "path", what: top, below: 0 });
    if (top !== path) byTopmost.get(top)!.below++;
  }
  const topmost = [...byTopmost.values()].sort((a, b) => a.what.localeCompare(b.what));
  return [
    ...topmost,
    ...added(before.tmp, after.tmp).map((name): Leftover => ({ kind: "tmp", what: join(tmpdir, name), below: 0 })),
    ...added(before.netns, after.netns).map((name): Leftover => ({ kind: "netns", what: name, below: 0 })),
  ];
}

/** Too general to search for: the watched roots. */
const NOT_KEYS = new Set(["/", "/etc", "/opt", "/var", "/run", "/var/lib", "/var/www"]);

/** Strings of this repository's sources a leftover's name or path starts with, most specific first: how to find who made it. */
export function searchKeys(leftover: Leftover): string[] {
  const keys: string[] = [];
  if (leftover.kind === "path") {
    // The path, then its parents: /var/lib/ha-web/nginx, /var/lib/ha-web (never /var/lib).
    for (let p = leftover.what; !NOT_KEYS.has(p) && p.includes(sep); p = p.slice(0, p.lastIndexOf(sep)) || sep) keys.push(p);
    return keys;
  }
  // mkdtemp adds six characters, NamespaceSandbox the process id: "cloud-init-AbC123" -> "cloud-init-"; "hwt-db-4242" -> "hwt-db-", "hwt-".
  const name = leftover.what.slice(leftover.what.lastIndexOf(sep) + 1);
  let key = name.replace(/(?<=[-_.])[A-Za-z0-9]{6}$/, "").replace(/(?<=-)\d+$/, "");
  while (key.length >= 4) {
    keys.push(key);
    const shorter = key.replace(/[^-_.]+[-_.]?$/, "");
    if (shorter === key) break;
    key = shorter;
  }
  return keys;
}

const SOURCE_DIRS = ["__tests__", "lib", "templates", "app", "lab", "examples"];
const IGNORED = /node_modules|__snapshots__|[\\/]host-state(\.test)?\.ts$|global-(setup|teardown)\.ts$/;

function sourceFiles(repoRoot: string): { file: string; text: string }[] {
  const files: { file: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      const path = join(dir, name);
      if (IGNORED.test(path)) continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|js)$/.test(name)) files.push({ file: relative(repoRoot, path), text: readFileSync(path, "utf8") });
    }
  };
  for (const d of SOURCE_DIRS) walk(join(repoRoot, d));
  return files;
}

/**
 * The test files that probably made `leftover`: those that mention the first
 * of its `searchKeys` found anywhere in the sources; when that is a helper or
 * `templates/paths.ts`, the tests that use the helper or that PATHS entry.
 */
export function suspects(leftover: Leftover, repoRoot: string, files = sourceFiles(repoRoot)): string[] {
  for (const key of searchKeys(leftover)) {
    const hits = files.filter((f) => f.text.includes(key));
    if (hits.length === 0) continue;
    const found = new Set<string>();
    for (const hit of hits) {
      found.add(hit.file);
      if (hit.file.endsWith(join("templates", "paths.ts"))) {
        // `nginxStateDir: "/var/lib/ha-web/nginx"` -> the tests that say PATHS.nginxStateDir
        for (const m of hit.text.matchAll(new RegExp(`(\\w+): "${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}[^"]*"`, "g"))) {
          files
            .filter((f) => f.text.includes(`PATHS.${m[1]}`) && f.file.startsWith("__tests__"))
            .forEach((f) => {
              found.add(`${f.file} (PATHS.${m[1]})`);
            });
        }
      } else if (!/\.test\.ts$/.test(hit.file)) {
        const module = hit.file
          .replace(/\.(ts|js)$/, "")
          .split(sep)
          .pop()!;
        files
          .filter((f) => /\.test\.ts$/.test(f.file) && new RegExp(`from "[^"]*/${module}"`).test(f.text))
          .forEach((f) => {
            found.add(`${f.file} (uses ${hit.file})`);
          });
      }
    }
    return [...found].sort((a, b) => Number(!a.includes(".test.")) - Number(!b.includes(".test.")) || a.localeCompare(b)).slice(0, 8);
  }
  return [];
}

/** The teardown's failure message: what is left, which test probably made it, how to find out and clean up. */
export function describeLeftovers(leftovers: Leftover[], repoRoot: string): string {
  const files = sourceFiles(repoRoot);
  const lines = [`The tests left ${leftovers.length} thing(s) behind on this machine (compared before and after the whole jest run):`];
  for (const l of leftovers) {
    const what =
      l.kind === "netns"
        ? `network namespace ${l.what}`
        : l.kind === "tmp"
          ? `temp dir entry ${l.what}`
          : `${l.what}${l.below ? ` (and ${l.below} new path(s) below it)` : ""}`;
    const who = suspects(l, repoRoot, files);
    lines.push(
      `  - ${what}`,
      `      probably made by: ${who.length ? who.join(", ") : `no source mentions it; search with grep -rn "${searchKeys(l)[0] ?? l.what}" __tests__ lib templates`}`,
    );
  }
  lines.push(
    "How to find the test: run the suspects one at a time (CI=true npx jest <file>) and look for the path, the temp dir entry or `ip netns list` after each.",
    "Every test must write only below os.tmpdir() and remove what it made in a finally or afterAll; processes that need real paths run in NamespaceSandbox (an overlay, nothing reaches the host).",
    "Clean up by hand once found: rm -rf the paths above; ip netns delete <name> for a namespace.",
    "If another test run was going on on this machine at the same time, what it had open shows up here too: then run again alone before hunting.",
  );
  return lines.join("\n");
}
