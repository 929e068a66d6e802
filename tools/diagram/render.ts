/**
 * DOT -> SVG with Graphviz compiled to WebAssembly (@viz-js/viz): no system
 * Graphviz needed. The package's CommonJS build loads under plain Node and jest.
 */
import { instance, Viz } from "@viz-js/viz";

let loading: Promise<Viz> | undefined;

/**
 * Renders DOT text to an SVG document with the `dot` layout. Throws with
 * Graphviz's messages when the DOT is invalid; warnings are thrown too, since
 * they mean the picture is not what the graph says (e.g. a node in two clusters).
 */
export async function renderSvg(dot: string): Promise<string> {
  loading ??= instance(); // compiling the WASM module takes a while: once per process
  const viz = await loading;
  const result = viz.render(dot, { format: "svg", engine: "dot" });
  if (result.status !== "success" || result.errors.length > 0) {
    const messages = result.errors.map((error) => `${error.level ?? "error"}: ${error.message}`).join("\n");
    throw new Error(`Graphviz could not render the diagram:\n${messages}`);
  }
  // Graphviz names the one font it measured with; add fallbacks for systems without it.
  return result.output.replace(/font-family="Arial"/g, 'font-family="Arial,Helvetica,sans-serif"');
}
