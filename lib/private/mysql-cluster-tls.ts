import { Construct } from "constructs";
import { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { SelfSignedCert } from "@cdktf/provider-tls/lib/self-signed-cert";
import { PATHS } from "../../templates/paths";
import { MYSQL_TLS_FILES, MysqlTlsFile, mysqlTlsPath } from "../../templates/mysql/replication-tls";
import { Secret } from "../targets/target";
import { ensureTlsProvider } from "./tls-provider";

/** Validity of the cluster's certificates; a deploy in the last 30 days replaces both (every node gets the new pair). */
export const MYSQL_CLUSTER_CERTIFICATE_DAYS = 3650;
const EARLY_RENEWAL_DAYS = 30;

/** The cluster's TLS material, as the files every database node gets (PATHS.mysqlTlsDir). */
export interface MysqlClusterTls {
  /** Common name (subject and issuer) of the replication client certificate, which the replication user requires. */
  readonly replicationCertificateName: string;
  /** Secret files by absolute path, for ServiceSpec.secretFiles. */
  readonly secretFiles: Readonly<Record<string, Secret>>;
}

/**
 * Two pinned, self-signed pairs made at deploy time by the `tls` provider (keys in
 * Terraform state only): the servers' certificate and the replication client's.
 * See templates/mysql/replication-tls.ts for why certificates replace the password.
 */
export function createMysqlClusterTls(scope: Construct, prefix: string): MysqlClusterTls {
  ensureTlsProvider(scope);
  const pair = (id: string, commonName: string, use: "server_auth" | "client_auth") => {
    const key = new PrivateKey(scope, `${id}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" });
    const cert = new SelfSignedCert(scope, `${id}-certificate`, {
      privateKeyPem: key.privateKeyPem,
      subject: [{ commonName }],
      // A trust anchor: OpenSSL accepts a pinned self-signed certificate only as a CA that may sign.
      isCaCertificate: true,
      allowedUses: ["digital_signature", "key_encipherment", "cert_signing", use],
      validityPeriodHours: 24 * MYSQL_CLUSTER_CERTIFICATE_DAYS,
      earlyRenewalHours: 24 * EARLY_RENEWAL_DAYS,
    });
    return { certificate: cert.certPem, key: key.privateKeyPem };
  };
  const server = pair("tls-server", `${prefix}-server`, "server_auth");
  const replicationCertificateName = `${prefix}-replication`;
  const replication = pair("tls-replication", replicationCertificateName, "client_auth");
  const file = (f: MysqlTlsFile, value: string): [string, Secret] => [
    mysqlTlsPath(f, PATHS.mysqlTlsDir),
    { name: `${prefix}-tls-${MYSQL_TLS_FILES[f]}`, value },
  ];
  return {
    replicationCertificateName,
    secretFiles: Object.fromEntries([
      file("serverCertificate", server.certificate),
      file("serverKey", server.key),
      file("replicationCertificate", replication.certificate),
      file("replicationKey", replication.key),
    ]),
  };
}
