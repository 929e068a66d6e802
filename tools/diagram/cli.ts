/**
 * npm run diagram -- [--stack FILE | STACKNAME] [--out FILE]
 *
 * Draws a synthesized stack as an SVG: tiers and networks (Docker) or subnets
 * (AWS) as boxes, allowed traffic as arrows labelled with ports, the way in
 * from the internet and a role's way out, sidecars as lines of their owner's
 * box, and the monitoring host's scrapes as one teal arrow per tier.
 *
 *   --stack NAME   cdktf.out/stacks/NAME/cdk.tf.json (after `npm run synth`); default: local
 *   --stack FILE   any synthesized cdk.tf.json
 *   --out FILE     where to write the SVG; default: docs/diagrams/<stack>.svg
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import { basename, dirname, relative, resolve } from "path";
import { diagramPath, repoRoot, synthesizedStackPath } from "./paths";
import { stackToSvg } from "./stack-svg";

interface Options {
  readonly stack: string;
  readonly out?: string;
  readonly help: boolean;
}

const USAGE = "usage: npm run diagram -- [--stack FILE | STACKNAME] [--out FILE]";

function parseArgs(argv: readonly string[]): Options {
  let stack = "local";
  let out: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    if (arg === "--stack") stack = value();
    else if (arg === "--out") out = value();
    else if (arg === "--help" || arg === "-h") help = true;
    else if (!arg.startsWith("-")) stack = arg;
    else throw new Error(`unknown option ${arg}\n${USAGE}`);
  }
  return { stack, out, help };
}

/** A stack name or a file: a name has no path separator and no .json ending. */
function locateStack(stack: string, root: string, userDir: string): { file: string; name: string } {
  const isName = !/[\\/]/.test(stack) && !stack.endsWith(".json");
  if (isName) return { file: synthesizedStackPath(root, stack), name: stack };
  const file = resolve(userDir, stack);
  // cdktf.out/stacks/NAME/cdk.tf.json is named after its folder; any other file after itself.
  const name =
    basename(file) === "cdk.tf.json"
      ? basename(dirname(file))
      : basename(file)
          .replace(/\.json$/, "")
          .replace(/\.tf$/, "");
  return { file, name };
}

/** A path as the user would type it: relative when under their folder, absolute otherwise. */
function shown(path: string, userDir: string): string {
  const rel = relative(userDir, path);
  return rel && !rel.startsWith("..") ? rel : path;
}

async function main(argv: readonly string[]): Promise<void> {
  const options = parseArgs(argv);
  if (options.help) return console.log(USAGE);
  const root = repoRoot();
  // npm runs scripts from the package root; paths typed by the user are relative to where they typed them.
  const userDir = process.env.INIT_CWD ?? process.cwd();
  const { file, name } = locateStack(options.stack, root, userDir);
  if (!existsSync(file)) {
    throw new Error(`${shown(file, userDir)} does not exist: run \`npm run synth\` first, or pass --stack FILE`);
  }
  const svg = await stackToSvg(JSON.parse(readFileSync(file, "utf8")), name);
  const out = options.out ? resolve(userDir, options.out) : diagramPath(root, name);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, svg);
  console.log(`wrote ${shown(out, userDir)} (stack "${name}" from ${shown(file, userDir)})`);
}

main(process.argv.slice(2)).catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
