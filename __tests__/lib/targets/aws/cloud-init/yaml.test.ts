import { toYaml } from "../../../../../lib/targets/aws/private/cloud-init/yaml";
import { parseYaml, parseYamlAll } from "./tools";

describe("toYaml", () => {
  const tricky = {
    plain: "nginx",
    octal: "0644",
    boolean: "yes",
    colon: "root:root",
    hash: "a # not a comment",
    quote: 'say "hi"',
    empty: "",
    flag: "--now",
    unicode: "café ✓",
    script: "#!/bin/sh\nset -eu\necho \"${HOME:-/}\" 'x'\n",
    leadingSpaces: "  indented first line\nsecond\n",
    leadingNewline: "\nafter a blank line\n",
    noTrailingNewline: "a\nb",
    manyTrailingNewlines: "a\n\n\n",
    tabs: "key\tvalue\n\tindented by a tab\n",
    control: "bell\u0007 and\r\nCRLF\n",
    separator: "line\u2028separator\n",
    trailingSpaces: "a   \n   \nb\n",
  };

  const entries = Object.entries(tricky);
  const parsed = parseYamlAll(entries.map(([key, value]) => toYaml({ [key]: value })));
  test.each(entries.map(([key, value], i) => [key, value, i] as const))("%s survives a round trip through PyYAML", (key, value, i) => {
    expect(parsed[i]).toEqual({ [key]: value });
  });

  test("nested mappings, sequences, command lists and empty collections", () => {
    const doc = {
      package_update: true,
      count: 3,
      nothing: null,
      skipped: undefined,
      packages: ["nginx", "nodejs"],
      runcmd: [
        ["systemctl", "enable", "--now", "a b.service"],
        ["sh", "-c", "echo 'quoted'"],
      ],
      users: ["default", { name: "node", system: true }],
      write_files: [{ path: "/etc/x", content: "line 1\nline 2\n" }, {}],
      empty_list: [],
      empty_map: {},
      "odd key": 1,
    };
    const { skipped: _skipped, ...expected } = doc;
    expect(parseYaml(toYaml(doc))).toEqual(expected);
  });

  test("multi-line text is a literal block, so user data reads like the files", () => {
    const text = toYaml({ content: "#!/bin/sh\necho hi\n" });
    expect(text).toBe("content: |\n  #!/bin/sh\n  echo hi\n");
  });

  test("strings YAML 1.1 would read as something else are quoted", () => {
    expect(toYaml({ a: "0755", b: "on", c: "null", d: "1.5", e: "path/ok" })).toBe('a: "0755"\nb: "on"\nc: "null"\nd: "1.5"\ne: path/ok\n');
  });

  test("refuses numbers YAML cannot carry", () => {
    expect(() => toYaml({ n: Number.NaN })).toThrow(/cannot emit the number NaN/);
  });
});
