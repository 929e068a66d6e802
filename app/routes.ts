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
  const item = /^\/api\/items\/([^/]+)$/.exec(path);
  if (item) {
    return isRead ? { kind: "getItem", rawId: item[1] } : { kind: "methodNotAllowed", allow: READ };
  }
  return { kind: "notFound" };
}
