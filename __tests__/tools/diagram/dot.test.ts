/** DOT writing: escaping, nesting and deterministic output, checked by rendering for real. */
import { escapeHtml, quote, toDot } from "../../../tools/diagram/dot";
import { StackGraph } from "../../../tools/diagram/stack-graph";
import { renderSvg } from "../../../tools/diagram/render";

const tricky: StackGraph = {
  name: 'a "quoted" \\ name',
  target: "docker",
  clusters: [
    { id: "tier:t", kind: "tier", label: "tier <t> & co", detail: ['path "x"'] },
    { id: "network:n", kind: "network", label: "n", detail: [], parent: "tier:t" },
  ],
  nodes: [
    { id: "container:a", kind: "container", label: "a<b>", detail: ["x & y"], role: "web", cluster: "tier:t" },
    { id: 'container:"b"', kind: "container", label: "b", detail: [], role: "app", cluster: "tier:t" },
    { id: "network:n", kind: "network", label: "n", detail: [], cluster: "network:n" },
  ],
  edges: [
    { from: "container:a", to: 'container:"b"', kind: "flow", label: '80/tcp "x"', via: "network:n" },
    { from: "container:a", to: "network:n", kind: "attachment", label: "" },
    { from: 'container:"b"', to: "network:n", kind: "attachment", label: "" },
  ],
};

describe("dot", () => {
  test("quote and escapeHtml escape what DOT and HTML-like labels would misread", () => {
    expect(quote('say "hi" \\ bye\nnext')).toBe('"say \\"hi\\" \\\\ bye\\nnext"');
    expect(escapeHtml('<b> & "x"')).toBe("&lt;b&gt; &amp; &quot;x&quot;");
  });

  test("writes nested clusters and a flow across a network as plug line + labelled arrow", () => {
    const dot = toDot(tricky);
    expect(dot).toContain('"network:n" -> "container:\\"b\\"" [label="80/tcp \\"x\\""');
    expect(dot).toContain('"container:a" -> "network:n" [dir=none');
    // b's own plug is drawn by its arrow, not twice.
    expect(dot).not.toContain('"container:\\"b\\"" -> "network:n"');
    expect(dot.indexOf("subgraph cluster_1")).toBeGreaterThan(dot.indexOf("subgraph cluster_0"));
  });

  test("renders to SVG, escaped text intact, the same bytes every time", async () => {
    const svg = await renderSvg(toDot(tricky));
    expect(svg).toMatch(/^<\?xml/);
    expect(svg).toContain("tier &lt;t&gt; &amp; co");
    expect(svg).toContain("a&lt;b&gt;");
    expect(await renderSvg(toDot(tricky))).toBe(svg);
  });

  test("rendering fails loudly on invalid DOT", async () => {
    await expect(renderSvg("digraph { a -> }")).rejects.toThrow(/Graphviz could not render/);
  });
});
