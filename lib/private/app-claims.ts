import { IConstruct } from "constructs";

/** Names claimed per app (the construct tree's root): key -> path of the construct that claimed it. */
const CLAIMS = new WeakMap<IConstruct, Map<string, string>>();

/**
 * Claims a name that must be unique across every stack of one app (a container
 * name, a host port, an SSM parameter path). Returns the path of the construct
 * that claimed it first, or undefined when `scope` is the first (or the same).
 */
export function claimInApp(scope: IConstruct, key: string): string | undefined {
  const root = scope.node.root;
  let claims = CLAIMS.get(root);
  if (!claims) {
    claims = new Map();
    CLAIMS.set(root, claims);
  }
  const owner = claims.get(key);
  if (owner !== undefined && owner !== scope.node.path) return owner;
  claims.set(key, scope.node.path);
  return undefined;
}
