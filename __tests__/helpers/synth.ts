import { App, Testing, TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { DockerTarget, DockerTargetProps } from "../../lib";

/** Synthesized Terraform JSON, parsed. */
export interface SynthesizedStack {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  output?: Record<string, { value: unknown }>;
  [key: string]: unknown;
}

export interface DockerContainerJson {
  name: string;
  hostname: string;
  image: string;
  entrypoint?: string[];
  command?: string[];
  env: string[];
  user: string;
  restart: string;
  upload: { file: string; content?: string; source?: string; executable?: boolean; permissions?: string }[];
  networks_advanced: { name: string; aliases: string[] }[];
  /** A sidecar's: `container:<owner>`. */
  network_mode?: string;
  ports?: { internal: number; external: number; ip: string }[];
  volumes?: { volume_name: string; container_path: string }[];
  healthcheck: { test: string[] };
  depends_on?: string[];
  labels?: { label: string; value: string }[];
}

/** A stack with a Docker target, declared by `declare`, synthesized once. */
export function synthDocker(declare: (stack: TerraformStack, target: DockerTarget) => void, targetProps: DockerTargetProps = {}) {
  const app = Testing.app();
  const stack = new TerraformStack(app, "test");
  const target = new DockerTarget(stack, "docker", targetProps);
  declare(stack, target);
  const json = Testing.synth(stack);
  return { app, stack, target, json, parsed: JSON.parse(json) as SynthesizedStack };
}

/** Containers by their Docker name. */
export function containers(parsed: SynthesizedStack): Record<string, DockerContainerJson> {
  const byName: Record<string, DockerContainerJson> = {};
  for (const c of Object.values(parsed.resource.docker_container ?? {}) as unknown as DockerContainerJson[]) byName[c.name] = c;
  return byName;
}

/** What Terraform makes of a literal string: `$${` and `%%{` are escapes for `${` and `%{`. */
export function terraformLiteral(text: string): string {
  return text.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");
}

/** The content of an uploaded file as it lands in the container. */
export function uploaded(container: DockerContainerJson, path: string): string {
  const file = container.upload.find((u) => u.file === path);
  if (!file?.content) throw new Error(`${container.name} has no upload ${path}`);
  return terraformLiteral(file.content);
}

/** Messages of the given annotation level anywhere under `scope`. */
export function annotations(scope: Construct, level: "warn" | "error"): string[] {
  return scope.node
    .findAll()
    .flatMap((c) => c.node.metadata)
    .filter((m) => m.type === `@cdktf/${level}`)
    .map((m) => String(m.data));
}

export { App };

/**
 * The secret a container reads through NAME_FILE: its env names the file, the
 * file's content is the value's reference (never the value). Undefined when the
 * container has no such secret.
 */
export function secretFileOf(container: DockerContainerJson, name: string): string | undefined {
  const entry = container.env.find((e) => e.startsWith(`${name}_FILE=`));
  if (!entry || container.env.some((e) => e.startsWith(`${name}=`))) return undefined;
  const file = container.upload.find((u) => u.file === entry.slice(name.length + 6));
  return file?.permissions === "0444" ? file.content : undefined;
}
