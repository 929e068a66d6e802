/**
 * Reading synthesized Terraform JSON (cdk.tf.json) without cdktf: resources by
 * type and `${type.name.attribute}` references between them.
 */

/** One resource block: its arguments as synthesized. */
export type TerraformResource = Readonly<Record<string, unknown>>;

/** The parts of a cdk.tf.json this tool reads. */
export interface TerraformJson {
  readonly resource?: Readonly<Record<string, Readonly<Record<string, TerraformResource>>>>;
}

/** A resource with its Terraform name (the key under its type). */
export interface NamedResource {
  readonly name: string;
  readonly body: TerraformResource;
}

/** A parsed `${type.name.attribute}` reference. */
export interface ResourceReference {
  readonly type: string;
  readonly name: string;
  readonly attribute: string;
}

/** Every resource of one type, sorted by name so output never depends on key order. */
export function resourcesOfType(json: TerraformJson, type: string): NamedResource[] {
  const byName = json.resource?.[type] ?? {};
  return Object.keys(byName)
    .sort()
    .map((name) => ({ name, body: byName[name] }));
}

/** One resource by type and name, if the stack has it. */
export function findResource(json: TerraformJson, type: string, name: string): TerraformResource | undefined {
  return json.resource?.[type]?.[name];
}

const REFERENCE = /^\$\{([A-Za-z0-9_]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_]+)\}$/;

/** Parses a whole-string reference like `${aws_subnet.public-1_ABC.id}`; anything else gives undefined. */
export function parseReference(value: unknown): ResourceReference | undefined {
  if (typeof value !== "string") return undefined;
  const match = REFERENCE.exec(value);
  return match ? { type: match[1], name: match[2], attribute: match[3] } : undefined;
}

/** The name of the resource of `type` that `value` references, if it references one. */
export function referencedName(value: unknown, type: string): string | undefined {
  const reference = parseReference(value);
  return reference?.type === type ? reference.name : undefined;
}

/**
 * A string argument, following one reference to another resource's literal
 * argument (`${docker_network.edge.name}` -> "haweb-edge"). Unresolvable
 * references give undefined rather than the reference text.
 */
export function resolveString(json: TerraformJson, value: unknown): string | undefined {
  const reference = parseReference(value);
  if (!reference) return typeof value === "string" && !value.includes("${") ? value : undefined;
  const target = findResource(json, reference.type, reference.name)?.[reference.attribute];
  return typeof target === "string" && !target.includes("${") ? target : undefined;
}

/** A string argument as is, or undefined when it is missing or not a string. */
export function stringArg(resource: TerraformResource, key: string): string | undefined {
  const value = resource[key];
  return typeof value === "string" ? value : undefined;
}

/** A number argument (Terraform JSON may hold numbers as strings). */
export function numberArg(resource: TerraformResource, key: string): number | undefined {
  const value = resource[key];
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  return undefined;
}

/** A list argument; a single block synthesized as an object counts as a list of one. */
export function listArg(resource: TerraformResource, key: string): TerraformResource[] {
  const value = resource[key];
  if (Array.isArray(value)) return value.filter((item): item is TerraformResource => typeof item === "object" && item !== null);
  return typeof value === "object" && value !== null ? [value as TerraformResource] : [];
}

/** The `tags` map of an AWS resource (empty when absent). */
export function tagsOf(resource: TerraformResource): Readonly<Record<string, string>> {
  const tags = resource.tags;
  if (typeof tags !== "object" || tags === null) return {};
  return Object.fromEntries(Object.entries(tags).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
}
