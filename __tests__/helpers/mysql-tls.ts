import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { MYSQL_TLS_FILES, MysqlTlsFile, mysqlTlsPath } from "../../templates/mysql/replication-tls";
import { PATHS } from "../../templates/paths";

/** The common name the helper's replication certificate carries (pass it as replicationCertificateName). */
export const TEST_REPLICATION_CERTIFICATE_NAME = "test-replication";

/**
 * A database cluster's four TLS files, made with openssl as MysqlCluster's `tls`
 * resources would make them (self-signed ECDSA, CA:TRUE so a pinned certificate
 * is a trust anchor), keyed by where the target delivers them (PATHS.mysqlTlsDir).
 */
export function makeMysqlTlsFiles(replicationName = TEST_REPLICATION_CERTIFICATE_NAME): Record<string, { content: string }> {
  const dir = mkdtempSync(join(tmpdir(), "hw-mysql-tls-"));
  try {
    const pair = (name: string, commonName: string, use: string) => {
      const key = join(dir, `${name}.key`);
      const cert = join(dir, `${name}.pem`);
      const r = spawnSync(
        "openssl",
        [
          ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", `/CN=${commonName}`],
          ...["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign"],
          ...["-addext", `extendedKeyUsage=${use}`, "-keyout", key, "-out", cert],
        ],
        { encoding: "utf8" },
      );
      if (r.status !== 0) throw new Error(`openssl could not make the ${name} pair: ${r.stderr}`);
      return { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") };
    };
    const server = pair("server", "test-server", "serverAuth");
    const replication = pair("replication", replicationName, "clientAuth");
    const contents: Record<MysqlTlsFile, string> = {
      serverCertificate: server.cert,
      serverKey: server.key,
      replicationCertificate: replication.cert,
      replicationKey: replication.key,
    };
    return Object.fromEntries((Object.keys(MYSQL_TLS_FILES) as MysqlTlsFile[]).map((f) => [mysqlTlsPath(f, PATHS.mysqlTlsDir), { content: contents[f] }]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
