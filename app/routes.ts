/** Route matching for the demo app (pure). */

export type Route =
  | { kind: "health" }
  | { kind: "listItems" }
  | { kind: "getItem"; rawId: string }
  | { kind: "createItem" }
  | { kind: "methodNotAllowed"; allow: readonly string[] }
  | { kind: "notFound" };

export interface RequestTarget {
  path: string;
  query: URLSearchParams;
}

/**
 * Splits an origin-form request target ("/a/b?x=1") into path and query.
 * One trailing slash is ignored ("/api/items/" == "/api/items").
 */
export function splitTarget(url: string | undefined): RequestTarget {
  const raw = url ?? "/";
  const q = raw.indexOf("?");
  let path = q >= 0 ? raw.slice(0, q) : raw;
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return { path, query: new URLSearchParams(q >= 0 ? raw.slice(q + 1) : "") };
}

const READ = ["GET", "HEAD"] as const;

const ITEM_PATH = /^\/api\/items\/([^/]+)$/;

/** The route patterns the app serves, plus `other` for every unknown path. */
export const ROUTE_PATTERNS = ["/health", "/api/items", "/api/items/:id", "other"] as const;
export type RoutePattern = (typeof ROUTE_PATTERNS)[number];

/**
 * The pattern a path belongs to, whatever the method: a bounded set for metric
 * labels (never the raw path, whose ids and typos are unbounded).
 */
export function routePattern(path: string): RoutePattern {
  if (path === "/health") return "/health";
  if (path === "/api/items") return "/api/items";
  if (ITEM_PATH.test(path)) return "/api/items/:id";
  return "other";
}

export function matchRoute(method: string, path: string): Route {
  const m = method.toUpperCase();
  const isRead = (READ as readonly string[]).includes(m);

  if (path === "/health") {
    return isRead ? { kind: "health" } : { kind: "methodNotAllowed", allow: READ };
  }
  if (path === "/api/items") {
    if (isRead) return { kind: "listItems" };
    if (m === "POST") return { kind: "createItem" };
    return { kind: "methodNotAllowed", allow: [...READ, "POST"] };
  }
  const item = ITEM_PATH.exec(path);
  if (item) {
    return isRead ? { kind: "getItem", rawId: item[1] } : { kind: "methodNotAllowed", allow: READ };
  }
  return { kind: "notFound" };
}
