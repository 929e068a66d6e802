import { TerraformStack } from "cdktf";
import { Construct } from "constructs";
import { TlsProvider } from "@cdktf/provider-tls/lib/provider";

/** The `tls` provider, once per stack, unless the stack already configures one. */
export function ensureTlsProvider(scope: Construct): void {
  const stack = TerraformStack.of(scope);
  if (stack.node.findAll().some((c) => c instanceof TlsProvider)) return;
  new TlsProvider(stack, "cdktf-ha-web-tls-provider");
}
