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

  test("draws a scrape to its tier's box, unranked, in the monitoring colour; a way out up to the internet; sidecars as lines", async () => {
    const monitored: StackGraph = {
      name: "m",
      target: "docker",
      clusters: [
        { id: "tier:web", kind: "tier", label: "web tier", detail: [] },
        { id: "tier:mon", kind: "tier", label: "monitoring tier", detail: [] },
        { id: "network:out", kind: "network", label: "out", detail: [] },
      ],
      nodes: [
        { id: "internet", kind: "internet", label: "internet / host", detail: [] },
        { id: "container:web", kind: "container", label: "web", detail: ["web"], sidecars: ["+ exporter :9113"], role: "web", cluster: "tier:web" },
        { id: "container:mon", kind: "container", label: "mon", detail: [], role: "monitoring", cluster: "tier:mon", alignWith: "container:web" },
        { id: "network:out", kind: "network", label: "out", detail: [], cluster: "network:out" },
        { id: "published:1", kind: "endpoint", label: "p1", detail: [] },
        { id: "published:2", kind: "endpoint", label: "p2", detail: [] },
      ],
      edges: [
        { from: "internet", to: "published:1", kind: "publish", label: "1/tcp" },
        { from: "internet", to: "published:2", kind: "publish", label: "2/tcp" },
        { from: "container:mon", to: "container:web", toCluster: "tier:web", kind: "scrape", label: "9113/tcp" },
        { from: "container:mon", to: "internet", kind: "flow", label: "outbound", via: "network:out" },
        { from: "container:mon", to: "network:out", kind: "attachment", label: "" },
      ],
    };
    const dot = toDot(monitored);
    // The scrape ends at the web tier's box (cluster_0), does not rank its ends, and is teal.
    expect(dot).toContain('"container:mon" -> "container:web" [label="9113/tcp" color="#0f766e" fontcolor="#0f766e" constraint=false lhead=cluster_0]');
    // The way out: written internet -> network with its head at the internet, clipped at the network's box.
    expect(dot).toContain('"internet" -> "network:out" [label="outbound" color="#1e293b" fontcolor="#1e293b" dir=back lhead=cluster_2]');
    expect(dot).not.toContain('-> "internet"');
    // The monitoring host's plug into its network is drawn as an attachment (the arrow leaves from the network).
    expect(dot).toContain('"container:mon" -> "network:out" [dir=none style=dashed');
    expect(dot).toContain('<font point-size="9" color="#0f766e">+ exporter :9113</font>');
    expect(dot).toContain('{ rank=same; "container:mon"; "container:web" }');
    expect(dot).toContain('{ rank=same; "published:1" -> "published:2" [style=invis] }');
    expect(dot).toContain("teal: monitoring; one arrow per tier it scrapes, with the ports");
    // And Graphviz takes it all without a warning.
    expect(await renderSvg(dot)).toContain("+ exporter :9113");
  });

  test("rendering fails loudly on invalid DOT", async () => {
    await expect(renderSvg("digraph { a -> }")).rejects.toThrow(/Graphviz could not render/);
  });
});
