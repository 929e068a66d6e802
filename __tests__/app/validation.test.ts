import { matchRoute, splitTarget } from "../../app/routes";
import { isJsonContentType, MAX_BODY_BYTES, parseIdempotencyKey, parseItemId, parseJson, parseMinGtid, validateNewItem } from "../../app/validation";

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

describe("control characters and UTF-8 (README: C0, DEL, C1, U+2028/U+2029)", () => {
  test.each([
    ["U+0001", "a\u0001b"],
    ["U+001F", "a\u001fb"],
    ["DEL", "a\u007fb"],
    ["U+0080", "a\u0080b"],
    ["NEL U+0085", "a\u0085b"],
    ["U+009F", "a\u009fb"],
    ["LINE SEPARATOR", "a\u2028b"],
    ["PARAGRAPH SEPARATOR", "a\u2029b"],
  ])("refuses %s", (_label, name) => {
    expect(validateNewItem({ name })).toEqual({ ok: false, error: "name must not contain control characters" });
  });
  test.each([
    ["U+00A0", "a\u00a0b"],
    ["U+00E9", "é"],
    ["U+2027", "a\u2027b"],
    ["U+202A", "a\u202ab"],
  ])("accepts %s", (_label, name) => {
    expect(validateNewItem({ name }).ok).toBe(true);
  });
  test("invalid UTF-8 is refused, never replaced by U+FFFD", () => {
    for (const bytes of [[0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) {
      expect(parseJson(Buffer.from(bytes))).toEqual({ ok: false, error: "request body is not valid UTF-8" });
    }
    expect(parseJson(Buffer.from('{"name":"\uFFFD"}', "utf8"))).toEqual({ ok: true, value: { name: "\uFFFD" } });
  });
});

describe("isJsonContentType", () => {
  test.each(["application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-8", 'application/json; charset="utf-8"'])(
    "accepts %j",
    (h) => expect(isJsonContentType(h)).toBe(true),
  );
  test.each([
    undefined,
    "",
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/json; charset=latin1",
    "application/jsonx",
    "multipart/form-data; boundary=x",
    "application/json; garbage",
  ])("refuses %j", (h) => expect(isJsonContentType(h)).toBe(false));
});

describe("parseIdempotencyKey", () => {
  test("absent: no key", () => expect(parseIdempotencyKey(undefined)).toEqual({ ok: true, value: undefined }));
  test.each([
    ["8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324"],
    ['"8e03978e-40d5-43e8"', "8e03978e-40d5-43e8"],
    ['"with space and \\" quote"', 'with space and " quote'],
    ["k".repeat(255), "k".repeat(255)],
  ])("accepts %j", (raw, key) => expect(parseIdempotencyKey([raw])).toEqual({ ok: true, value: key }));
  test.each([[[""]], [['""']], [["k".repeat(256)]], [["a b"]], [["a\u0001b"]], [["é"]], [['"unterminated']], [["a,b"]], [["a", "b"]]])("refuses %j", (values) =>
    expect(parseIdempotencyKey(values).ok).toBe(false),
  );
});

describe("parseMinGtid", () => {
  test.each([
    ["0-1-42", "mariadb"],
    ["0-1-42,1-2-7", "mariadb"],
    ["3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42", "mysql"],
    ["3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7,4e11fa47-71ca-11e1-9e33-c80aa9429562:1", "mysql"],
  ])("accepts %s", (g, flavor) => expect(parseMinGtid(g)).toEqual({ ok: true, value: { gtid: g, flavor } }));
  test.each(["", "0-1", "x", "0-1-42;DROP", "0-1-42,", "1".repeat(3000), "3e11fa47:1-5"])("refuses %j", (g) => expect(parseMinGtid(g).ok).toBe(false));
  test("absent", () => expect(parseMinGtid(undefined)).toEqual({ ok: true, value: undefined }));
});
