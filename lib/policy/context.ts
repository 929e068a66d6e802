import { DefaultTokenResolver, StringConcat, TerraformLocal, TerraformResource, TerraformStack, TerraformVariable, Tokenization } from "cdktf";
import { IConstruct } from "constructs";
import { PolicyContext, ResourceView } from "./types";

const RESOLVER = new DefaultTokenResolver(new StringConcat());

/**
 * A resource's attributes as Terraform will see them: overrides applied, tokens
 * resolved to `${...}` references. Undefined for a resource that synthesizes to
 * no resource block (one that was moved).
 */
export function viewOf(resource: TerraformResource): ResourceView | undefined {
  const stack = TerraformStack.of(resource);
  const synthesized = Tokenization.resolve(resource.toTerraform(), { scope: stack, preparing: false, resolver: RESOLVER }) as {
    resource?: Record<string, Record<string, Record<string, unknown>>>;
  };
  const type = resource.terraformResourceType;
  const name = resource.friendlyUniqueId;
  const block = synthesized.resource?.[type]?.[name];
  if (!block) return undefined;
  const { ["//"]: _metadata, ...config } = block;
  return { type, name, address: `${type}.${name}`, path: resource.node.path, config, construct: resource };
}

export function isTerraformResource(node: IConstruct): node is TerraformResource {
  return node instanceof TerraformResource;
}

/** Every resource of a stack, so rules can follow references (a rule to its security group). */
export class StackIndex implements PolicyContext {
  public readonly resources: ResourceView[];
  public readonly sensitiveVariables: ReadonlySet<string>;
  private readonly byAddress = new Map<string, ResourceView>();
  private readonly locals = new Map<string, TerraformLocal>();

  constructor(private readonly stack: TerraformStack) {
    const nodes = stack.node.findAll();
    for (const n of nodes) if (n instanceof TerraformLocal) this.locals.set(n.friendlyUniqueId, n);
    this.resources = nodes.filter(isTerraformResource).flatMap((r) => viewOf(r) ?? []);
    for (const r of this.resources) this.byAddress.set(r.address, r);
    this.sensitiveVariables = new Set(
      nodes.filter((n): n is TerraformVariable => n instanceof TerraformVariable && n.sensitive === true).map((v) => v.friendlyUniqueId),
    );
  }

  resolve(reference: unknown): ResourceView | undefined {
    if (typeof reference !== "string") return undefined;
    const m = /^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)(\.[A-Za-z0-9_]+)*\}$/.exec(reference);
    return m ? this.byAddress.get(`${m[1]}.${m[2]}`) : undefined;
  }

  localValue(name: string): string | undefined {
    const local = this.locals.get(name);
    if (!local) return undefined;
    const synthesized = Tokenization.resolve(local.toTerraform(), { scope: this.stack, preparing: false, resolver: RESOLVER }) as {
      locals?: Record<string, unknown>;
    };
    const value = synthesized.locals?.[name];
    return typeof value === "string" ? value : undefined;
  }

  view(resource: TerraformResource): ResourceView | undefined {
    return this.byAddress.get(`${resource.terraformResourceType}.${resource.friendlyUniqueId}`);
  }
}
