import { spawnSync } from "child_process";
import { toYaml, YamlValue } from "../../../templates/monitoring/yaml";
import { hasBinary } from "../../helpers/binaries";

const tricky: YamlValue = {
  plain: "node",
  duration: "1m30s",
  booleans: ["yes", "no", "on", "off", "true", "False", "y", "N", "null", "~"],
  numbers: ["15", "1e3", "0x1f", "1.5", "012", "1_000", "12:30"],
  promql: 'up{job="app", path=~"/api/.*\\\\d+"} == 0',
  apostrophe: 'HAProxy\'s log and "quotes"',
  colon: "lb-1:8404",
  hash: "a # not a comment",
  leading: " space",
  multiline: "sum(rate(x[5m]))\n  > 0.1\nand y",
  multilineTrailing: "line one \nline two",
  controls: "tab\there",
  unicode: "naïve ✓",
  empty: "",
  emptyList: [],
  emptyMap: {},
  nested: [{ a: 1, b: [true, false] }, ["x", "y"], {}],
  "key with: colon": 1,
  skipped: undefined,
};

describe("toYaml", () => {
  test("writes block scalars for readable multi-line strings and skips undefined values", () => {
    const yml = toYaml(tricky, ["header"]);
    expect(yml.startsWith("# header\n")).toBe(true);
    expect(yml).toContain("multiline: |-\n  sum(rate(x[5m]))\n    > 0.1\n  and y\n");
    expect(yml).toContain('promql: \'up{job="app"');
    expect(yml).not.toContain("skipped");
  });

  (hasBinary("python3") ? test : test.skip)("every value reads back unchanged in a YAML 1.1 parser (PyYAML)", () => {
    const result = spawnSync("python3", ["-c", "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"], {
      input: toYaml(tricky),
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual(JSON.parse(JSON.stringify(tricky)));
  });
});
