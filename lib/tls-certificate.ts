import { existsSync } from "fs";
import { resolve } from "path";
import { Token } from "cdktf";
import { Construct } from "constructs";
import { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { SelfSignedCert } from "@cdktf/provider-tls/lib/self-signed-cert";
import { ensureTlsProvider } from "./private/tls-provider";
import { SecretSource } from "./targets/target";

/** A certificate and its private key, as the nodes receive them (never plain text in the synthesized JSON). */
export interface BoundTlsCertificate {
  /** The PEM certificate (and chain). */
  readonly certificate: SecretSource;
  /** The PEM private key. */
  readonly privateKey: SecretSource;
  /** "self-signed", "files", "values", "ssm-parameters" or "secrets-manager": for facts and docs. */
  readonly kind: string;
}

export interface SelfSignedCertificateProps {
  /** Subject common name. @default "localhost" */
  readonly commonName?: string;
  /** DNS names in the certificate. @default ["localhost"] */
  readonly dnsNames?: string[];
  /** Validity in days; a deploy in its last 30 days (or last third) renews it. @default 365 */
  readonly validityDays?: number;
}

/** The defaults of SelfSignedCertificateProps. */
export const SELF_SIGNED_CERTIFICATE_DEFAULTS = { commonName: "localhost", dnsNames: ["localhost"], validityDays: 365 } as const;

/**
 * Where the load balancer's HTTPS certificate and key come from. The key is
 * never in the synthesized JSON or in user data: it is a reference that
 * Terraform (a value in state, a file) or the host at boot (SSM, Secrets
 * Manager) resolves.
 */
export abstract class TlsCertificate {
  /**
   * A certificate generated at deploy time with the `tls` provider (ECDSA P-256,
   * self-signed): its key lives in Terraform state only. Browsers will warn; use
   * it for development, or until you bring your own. Both targets.
   */
  static selfSigned(props: SelfSignedCertificateProps = {}): TlsCertificate {
    return new SelfSignedTlsCertificate(props);
  }

  /**
   * PEM files on the machine that runs synth and `cdktf deploy` (DockerTarget):
   * Terraform copies them into the containers (a changed file replaces them).
   * Relative paths are resolved against the working directory at synth.
   */
  static fromFiles(certificatePath: string, privateKeyPath: string): TlsCertificate {
    const absolute = (p: string) => (p.trim() === "" ? "" : resolve(p));
    return new ReferencedTlsCertificate("files", [
      { name: "tls-certificate", location: { kind: "file", path: absolute(certificatePath) } },
      { name: "tls-private-key", location: { kind: "file", path: absolute(privateKeyPath) } },
    ]);
  }

  /**
   * Terraform values (tokens: a sensitive variable, another resource's attribute).
   * Both targets; the values stay in state. The key must be such a reference: a
   * literal would be written into the synthesized JSON, and is refused.
   */
  static fromValues(certificatePem: string, privateKeyPem: string): TlsCertificate {
    return new ReferencedTlsCertificate("values", [
      { name: "tls-certificate", value: certificatePem },
      { name: "tls-private-key", value: privateKeyPem },
    ]);
  }

  /** SSM SecureString parameters (AwsTarget), read by the load balancers at boot. */
  static fromSsmParameters(certificateParameterName: string, privateKeyParameterName: string): TlsCertificate {
    return new ReferencedTlsCertificate("ssm-parameters", [
      { name: "tls-certificate", location: { kind: "ssm-parameter", parameterName: certificateParameterName } },
      { name: "tls-private-key", location: { kind: "ssm-parameter", parameterName: privateKeyParameterName } },
    ]);
  }

  /** Secrets Manager secrets holding the PEM strings (AwsTarget), read by the load balancers at boot. */
  static fromSecretsManager(certificateSecretId: string, privateKeySecretId: string): TlsCertificate {
    return new ReferencedTlsCertificate("secrets-manager", [
      { name: "tls-certificate", location: { kind: "secrets-manager", secretId: certificateSecretId } },
      { name: "tls-private-key", location: { kind: "secrets-manager", secretId: privateKeySecretId } },
    ]);
  }

  /** What is wrong with this certificate's input (an empty key path, say): prop-relative messages. */
  abstract problems(): string[];

  /** Creates what the certificate needs in `scope` (once) and says how the nodes get it. */
  abstract bind(scope: Construct): BoundTlsCertificate;
}

class SelfSignedTlsCertificate extends TlsCertificate {
  private bound?: BoundTlsCertificate;

  constructor(private readonly props: SelfSignedCertificateProps) {
    super();
  }

  problems(): string[] {
    const days = this.props.validityDays ?? SELF_SIGNED_CERTIFICATE_DEFAULTS.validityDays;
    const out: string[] = [];
    if (!Number.isInteger(days) || days < 1) out.push(`validityDays is ${days}; it must be a whole number of at least 1`);
    if ((this.props.commonName ?? "x").trim() === "") out.push("commonName is empty");
    return out;
  }

  bind(scope: Construct): BoundTlsCertificate {
    if (this.bound) return this.bound;
    const d = SELF_SIGNED_CERTIFICATE_DEFAULTS;
    ensureTlsProvider(scope);
    const key = new PrivateKey(scope, "tls-private-key", { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const cert = new SelfSignedCert(scope, "tls-self-signed-certificate", {
      privateKeyPem: key.privateKeyPem,
      subject: [{ commonName: this.props.commonName ?? d.commonName }],
      dnsNames: this.props.dnsNames ?? [...d.dnsNames],
      validityPeriodHours: 24 * (this.props.validityDays ?? d.validityDays),
      // A deploy in the last 30 days of its validity (or the last third, if shorter) replaces it.
      earlyRenewalHours: Math.floor(24 * Math.min(30, (this.props.validityDays ?? d.validityDays) / 3)),
      allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
    });
    this.bound = {
      kind: "self-signed",
      certificate: { name: "tls-certificate", value: cert.certPem },
      privateKey: { name: "tls-private-key", value: key.privateKeyPem },
    };
    return this.bound;
  }
}

class ReferencedTlsCertificate extends TlsCertificate {
  constructor(
    private readonly kind: string,
    private readonly sources: [SecretSource, SecretSource],
  ) {
    super();
  }

  problems(): string[] {
    const out: string[] = [];
    const [cert, key] = this.sources.map(describeSource);
    if (!cert) out.push(`is ${this.kind} without a certificate`);
    if (!key) out.push(`is ${this.kind} without a private key`);
    const keySource = this.sources[1];
    if (key && "value" in keySource && !Token.isUnresolved(keySource.value))
      out.push("is values with a literal private key, which would be written into the synthesized JSON in plain text");
    for (const source of this.sources) {
      if ("location" in source && source.location.kind === "file" && source.location.path && !existsSync(source.location.path))
        out.push(`reads ${source.name} from ${source.location.path}, which does not exist`);
    }
    return out;
  }

  bind(): BoundTlsCertificate {
    return { kind: this.kind, certificate: this.sources[0], privateKey: this.sources[1] };
  }
}

/** The reference or value of a source, empty when the user passed none. */
function describeSource(source: SecretSource): string {
  if ("value" in source) return String(source.value ?? "").trim();
  const l = source.location;
  return String(l.kind === "file" ? l.path : l.kind === "ssm-parameter" ? l.parameterName : l.secretId).trim();
}
