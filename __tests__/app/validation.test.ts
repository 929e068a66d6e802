import { matchRoute, splitTarget } from "../../app/routes";
import { MAX_BODY_BYTES, parseItemId, parseJson, validateNewItem } from "../../app/validation";

describe("parseJson", () => {
  test("valid", () => {
    expect(parseJson(Buffer.from('{"name":"a"}'))).toEqual({ ok: true, value: { name: "a" } });
  });
  test.each(["", "   ", "{", "name=a", "{'name':'a'}"])("invalid %j", (text) => {
    expect(parseJson(text).ok).toBe(false);
  });
  test("limit constant", () => expect(MAX_BODY_BYTES).toBe(16384));
});

describe("validateNewItem", () => {
  test("accepts 1..200 characters, trimmed", () => {
    expect(validateNewItem({ name: "widget" })).toEqual({ ok: true, value: { name: "widget" } });
    expect(validateNewItem({ name: "  spaced  ", extra: 1 })).toEqual({ ok: true, value: { name: "spaced" } });
    expect(validateNewItem({ name: "x" })).toMatchObject({ ok: true });
    expect(validateNewItem({ name: "x".repeat(200) })).toMatchObject({ ok: true });
  });
  test("counts characters (code points), not UTF-16 units or bytes", () => {
    expect(validateNewItem({ name: "😀".repeat(200) })).toMatchObject({ ok: true });
    expect(validateNewItem({ name: "é".repeat(200) })).toMatchObject({ ok: true });
    expect(validateNewItem({ name: "😀".repeat(201) })).toMatchObject({ ok: false });
  });
  test.each([
    [null, "body must be a JSON object"],
    [[], "body must be a JSON object"],
    ["widget", "body must be a JSON object"],
    [{}, "name must be a string"],
    [{ name: 5 }, "name must be a string"],
    [{ name: null }, "name must be a string"],
    [{ name: "" }, "name must not be empty"],
    [{ name: "   " }, "name must not be empty"],
    [{ name: "x".repeat(201) }, "at most 200"],
    [{ name: "a\u0000b" }, "control characters"],
    [{ name: "a\nb" }, "control characters"],
    [{ name: "a\ud800b" }, "valid Unicode"],
  ])("rejects %j", (body, msg) => {
    const r = validateNewItem(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(msg);
  });
});

describe("parseItemId", () => {
  test.each([
    ["1", "1"],
    ["42", "42"],
    ["007", "7"],
    ["18446744073709551615", "18446744073709551615"],
  ])("%s", (raw, id) => expect(parseItemId(raw)).toBe(id));
  test.each(["0", "-1", "1.5", "abc", "1e3", "", " 1", "18446744073709551616", "123456789012345678901"])("rejects %j", (raw) =>
    expect(parseItemId(raw)).toBeNull(),
  );
});

describe("routes", () => {
  test("splitTarget", () => {
    const t = splitTarget("/api/items/5?consistency=strong&x=1");
    expect(t.path).toBe("/api/items/5");
    expect(t.query.get("consistency")).toBe("strong");
    expect(splitTarget("/api/items/").path).toBe("/api/items");
    expect(splitTarget("/").path).toBe("/");
    expect(splitTarget(undefined).path).toBe("/");
  });

  test.each([
    ["GET", "/health", { kind: "health" }],
    ["HEAD", "/health", { kind: "health" }],
    ["GET", "/api/items", { kind: "listItems" }],
    ["POST", "/api/items", { kind: "createItem" }],
    ["GET", "/api/items/12", { kind: "getItem", rawId: "12" }],
    ["GET", "/api/items/abc", { kind: "getItem", rawId: "abc" }],
    ["POST", "/health", { kind: "methodNotAllowed", allow: ["GET", "HEAD"] }],
    ["DELETE", "/api/items", { kind: "methodNotAllowed", allow: ["GET", "HEAD", "POST"] }],
    ["PUT", "/api/items/1", { kind: "methodNotAllowed", allow: ["GET", "HEAD"] }],
    ["GET", "/", { kind: "notFound" }],
    ["GET", "/api/items/1/x", { kind: "notFound" }],
    ["GET", "/api/itemsX", { kind: "notFound" }],
    ["POST", "/nope", { kind: "notFound" }],
  ])("%s %s", (method, path, route) => {
    expect(matchRoute(method, path)).toEqual(route);
  });
});
