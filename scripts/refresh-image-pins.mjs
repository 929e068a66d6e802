// Refreshes the digests of the default Docker images (DOCKER_IMAGES_BY_VERSION in
// lib/targets/docker/images.ts) in place, and nothing else of that file.
//
//   node scripts/refresh-image-pins.mjs --from FILE... [--pin name:tag@sha256:DIGEST...] [--images PATH] [--check]
//
// --from FILE   a docker-library/repo-info page of one tag: repos/<image>/remote/<tag>.md
//               (https://github.com/docker-library/repo-info). The script takes the tag from its
//               "## `name:tag`" heading and the manifest-list digest from the "$ docker pull
//               name@sha256:..." line under it, and refuses a page whose top digest is not a
//               manifest list (an OCI image index or a Docker manifest list): a per-platform digest
//               would pin one architecture only.
// --pin REF     a digest found some other way, where a registry is reachable, for example
//                 docker buildx imagetools inspect nginx:1.30-trixie      (the "Digest:" of the index)
//                 crane digest nginx:1.30-trixie
//                 skopeo inspect --raw docker://nginx:1.30-trixie | sha256sum
//               Make sure it is the digest of the manifest list, not of one platform's manifest.
// --images PATH the file to rewrite (default: lib/targets/docker/images.ts).
// --check       change nothing; exit 1 if a pin differs (for CI).
//
// Only existing `"name:tag@sha256:<digest>"` strings are rewritten: a tag the file does not pin is an
// error (adding a version or moving to a new tag is a one-line edit of images.ts). Every input is
// checked before anything is written: one bad input, and the file stays as it was.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");

const MANIFEST_LIST_TYPES = new Set(["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]);

/**
 * The tag and manifest-list digest of a repo-info page, with what the page says of
 * the image (version, base) for the summary. Throws when the page has no
 * manifest-list digest.
 */
export function parseRepoInfo(text, source = "input") {
  const lines = text.split(/\r?\n/);
  const headingAt = lines.findIndex((l) => l.startsWith("## "));
  const heading = headingAt >= 0 ? /^## `([a-z0-9._/-]+):([A-Za-z0-9_][A-Za-z0-9_.-]*)`\s*$/.exec(lines[headingAt]) : null;
  if (!heading) throw new Error(`${source}: no "## \`name:tag\`" heading: not a repo-info page of one tag (repos/<image>/remote/<tag>.md)`);
  const [, name, tag] = heading;
  // The tag's own section: up to the first per-platform "### " section.
  const end = lines.findIndex((l, i) => i > headingAt && l.startsWith("### "));
  const top = lines.slice(headingAt + 1, end < 0 ? lines.length : end);
  const pull = top.map((l) => /^\$ docker pull ([a-z0-9._/-]+)@(sha256:[a-f0-9]{64})\s*$/.exec(l)).find(Boolean);
  if (!pull) throw new Error(`${source}: no "$ docker pull ${name}@sha256:..." line for ${name}:${tag}: no manifest-list digest to pin`);
  if (pull[1] !== name) throw new Error(`${source}: the digest is for ${pull[1]}, the heading names ${name}:${tag}`);
  const mime = top.map((l) => /Manifest MIME: `([^`]+)`/.exec(l)).find(Boolean)?.[1];
  if (!mime || !MANIFEST_LIST_TYPES.has(mime)) {
    throw new Error(
      `${source}: ${name}:${tag}'s digest is a ${mime ?? "manifest of unknown type"}, not a manifest list (${[...MANIFEST_LIST_TYPES].join(" or ")}): refusing to pin one platform`,
    );
  }
  const version = new RegExp(`^ENV ${name.split("/").pop().toUpperCase()}_VERSION=(\\S+)`, "m").exec(text)?.[1];
  const debian = /debian\.sh --arch '[^']+' out\/ '([a-z]+)'/.exec(text)?.[1];
  const ubuntu = /image\.base\.name=\S*ubuntu:([a-z]+)/.exec(text)?.[1];
  const oracle = /^ADD (oraclelinux-\d+(?:-slim)?)/m.exec(text)?.[1];
  const base = debian
    ? `Debian ${debian}`
    : ubuntu
      ? `Ubuntu ${ubuntu}`
      : oracle
        ? oracle.replace("oraclelinux-", "Oracle Linux ").replace("-slim", " slim")
        : undefined;
  return { name, tag, digest: pull[2], version, base };
}

/** `name:tag@sha256:digest` given on the command line. */
export function parsePin(reference) {
  const m = /^([a-z0-9._/-]+):([A-Za-z0-9_][A-Za-z0-9_.-]*)@(sha256:[a-f0-9]{64})$/.exec(reference);
  if (!m) throw new Error(`--pin ${reference}: expected name:tag@sha256:<64 hex digits>`);
  return { name: m[1], tag: m[2], digest: m[3] };
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * `source` with the digest of every `"name:tag@sha256:..."` string of each pin
 * replaced. Throws if a pin's name:tag appears nowhere in `source`.
 */
export function applyPins(source, pins) {
  let text = source;
  const changes = [];
  for (const pin of pins) {
    const pattern = new RegExp(`(["'\`]${escapeRegExp(`${pin.name}:${pin.tag}`)}@)(sha256:[a-f0-9]{64})(["'\`])`, "g");
    const found = [...text.matchAll(pattern)];
    if (found.length === 0) {
      throw new Error(
        `${pin.name}:${pin.tag} is pinned nowhere in the images file: add it to DOCKER_IMAGES_BY_VERSION by hand (with any digest), then run this again`,
      );
    }
    for (const m of found) changes.push({ ...pin, from: m[2], changed: m[2] !== pin.digest });
    text = text.replace(pattern, (_all, before, _old, after) => `${before}${pin.digest}${after}`);
  }
  return { text, changes };
}

function usage(message) {
  if (message) console.error(`refresh-image-pins: ${message}`);
  console.error("usage: node scripts/refresh-image-pins.mjs --from REPO_INFO_FILE... [--pin name:tag@sha256:DIGEST...] [--images PATH] [--check]");
  process.exit(2);
}

function main(argv) {
  const files = [];
  const refs = [];
  let imagesPath = resolve(root, "lib/targets/docker/images.ts");
  let check = false;
  let list = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--from") list = files;
    else if (arg === "--pin") list = refs;
    else if (arg === "--images") imagesPath = resolve(argv[++i] ?? usage("--images needs a path"));
    else if (arg === "--check") check = true;
    else if (arg === "--help" || arg === "-h") usage();
    else if (arg.startsWith("-")) usage(`unknown option ${arg}`);
    else if (list) list.push(arg);
    else usage(`${arg}: give it after --from or --pin`);
  }
  if (files.length + refs.length === 0) usage("nothing to pin: give --from FILE... or --pin REF...");

  const pins = [];
  const problems = [];
  for (const file of files) {
    try {
      pins.push(parseRepoInfo(readFileSync(file, "utf8"), file));
    } catch (e) {
      problems.push(e.message);
    }
  }
  for (const ref of refs) {
    try {
      pins.push(parsePin(ref));
    } catch (e) {
      problems.push(e.message);
    }
  }
  const source = readFileSync(imagesPath, "utf8");
  let result = { text: source, changes: [] };
  if (problems.length === 0) {
    try {
      result = applyPins(source, pins);
    } catch (e) {
      problems.push(e.message);
    }
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(`refresh-image-pins: ${p}`);
    console.error(`refresh-image-pins: ${imagesPath} left unchanged`);
    process.exit(1);
  }
  for (const c of result.changes) {
    const about = [c.version, c.base].filter(Boolean).join(", ");
    console.log(`${c.name}:${c.tag}  ${c.changed ? `${c.from} -> ${c.digest}` : `${c.digest} (unchanged)`}${about ? `  [${about}]` : ""}`);
  }
  const changed = result.text !== source;
  if (check) {
    if (changed) {
      console.error("refresh-image-pins: pins differ (--check: nothing written)");
      process.exit(1);
    }
    return;
  }
  if (changed) writeFileSync(imagesPath, result.text);
  console.log(changed ? `updated ${imagesPath}; update the README's "Versions verified" if a version or base changed` : "no change");
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) main(process.argv.slice(2));
