import { Token } from "cdktf";
import { Construct } from "constructs";
import { SsmParameter } from "@cdktf/provider-aws/lib/ssm-parameter";
import { Password } from "@cdktf/provider-random/lib/password";
import { Secret } from "../../target";

/** Where a secret lives at deploy time. */
export interface StoredSecret {
  readonly parameterName: string;
  readonly parameterArn: string;
}

export interface SecretStoreProps {
  readonly namePrefix: string;
  /** Customer managed key for the SecureString parameters. @default aws/ssm */
  readonly kmsKeyArn?: string;
}

/**
 * Secrets as SecureString parameters under `/<namePrefix>/`. Generated secrets
 * are random_password results; a secret the user passes (a sensitive variable,
 * a data source) is copied into a parameter too, so every host fetches its
 * secrets the same way at boot and none ever appears in user data.
 */
export class SecretStore extends Construct {
  /** Parameters by the secret's value token. */
  private readonly byValue = new Map<string, StoredSecret>();
  private readonly names = new Set<string>();
  public readonly parameters: SsmParameter[] = [];

  constructor(
    scope: Construct,
    id: string,
    private readonly props: SecretStoreProps,
  ) {
    super(scope, id);
  }

  /** A 32-character alphanumeric password generated at deploy time, stored as a parameter. */
  create(scope: Construct, id: string, name: string): Secret {
    // Alphanumeric, so the value is safe in every config syntax; 32 characters (~190 bits).
    const password = new Password(scope, id, { length: 32, special: false });
    const secret: Secret = { name, value: password.result };
    this.store(scope, `${id}-parameter`, secret);
    return secret;
  }

  /** The parameter holding `secret`, created on first use for secrets made elsewhere. */
  parameterFor(secret: Secret): StoredSecret {
    const existing = this.byValue.get(secret.value);
    if (existing) return existing;
    let id = `secret-${secret.name.replace(/[^A-Za-z0-9-]+/g, "-")}`;
    for (let i = 2; this.node.tryFindChild(id); i++) id = `secret-${secret.name.replace(/[^A-Za-z0-9-]+/g, "-")}-${i}`;
    return this.store(this, id, secret);
  }

  private store(scope: Construct, id: string, secret: Secret): StoredSecret {
    if (!Token.isUnresolved(secret.value)) {
      throw new Error(
        `AwsTarget: secret "${secret.name}" is a literal string, which would be written in plain text into the synthesized JSON. Fix: pass a reference (a sensitive TerraformVariable, a data source or a random_password's result).`,
      );
    }
    const base = `/${this.props.namePrefix}/${secret.name.replace(/[^A-Za-z0-9_.-]+/g, "-")}`;
    let parameterName = base;
    for (let i = 2; this.names.has(parameterName); i++) parameterName = `${base}-${i}`;
    this.names.add(parameterName);
    const parameter = new SsmParameter(scope, id, {
      name: parameterName,
      description: `cdktf-ha-web secret ${secret.name}, read at boot by the hosts that use it`,
      type: "SecureString",
      value: secret.value,
      keyId: this.props.kmsKeyArn,
      tags: { Name: parameterName },
    });
    this.parameters.push(parameter);
    const stored = { parameterName, parameterArn: parameter.arn };
    this.byValue.set(secret.value, stored);
    return stored;
  }
}
