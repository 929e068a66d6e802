/**
 * Replication authenticates with certificates, not a password. MariaDB keeps a
 * replica's CHANGE MASTER password in clear in master.info (and MySQL in its
 * connection metadata table), so a password-based replication user would leave
 * a secret on every data volume. Instead the replication user has no password
 * and REQUIREs a client certificate with a fixed subject and issuer; the replica
 * presents it over TLS, and master.info holds only the files' paths.
 *
 * Each side pins the other: the server trusts exactly the replication
 * certificate (ssl_ca), and the replica trusts exactly the server certificate
 * (MASTER_SSL_CA), so a replica refuses a server that cannot prove it holds the
 * cluster's server key. Both certificates are self-signed (a trust anchor must
 * be, with CA:TRUE and keyCertSign for OpenSSL to accept it). Host names are not
 * checked (MASTER_SSL_VERIFY_SERVER_CERT stays off): the writer is reached by a
 * name that moves, and every node shares one server certificate.
 */
import { PATHS } from "../paths";
import { MysqlEngine } from "./engine";

/** The four files every database node gets (any node may be the primary or a replica), by role. */
export const MYSQL_TLS_FILES = {
  /** The server's certificate (PEM), shared by every node of the cluster. */
  serverCertificate: "server.pem",
  serverKey: "server.key",
  /** The replication client's certificate (PEM): the replication user's identity. */
  replicationCertificate: "replication.pem",
  replicationKey: "replication.key",
} as const;

export type MysqlTlsFile = keyof typeof MYSQL_TLS_FILES;

/** Where a file is delivered (PATHS.mysqlTlsDir) or read by the server (PATHS.mysqlRunTlsDir). */
export function mysqlTlsPath(file: MysqlTlsFile, dir: string = PATHS.mysqlRunTlsDir): string {
  return `${dir}/${MYSQL_TLS_FILES[file]}`;
}

/** The subject (and issuer: it is self-signed) the replication user requires, as the servers print it. */
export function replicationCertificateSubject(commonName: string): string {
  return `/CN=${commonName}`;
}

/** A common name that is safe inside the REQUIRE SUBJECT string and the certificate. */
export function isCertificateCommonName(value: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/.test(value);
}

/** `REQUIRE ...` for the replication user: a valid certificate with exactly this subject and issuer. */
export function replicationUserRequirement(commonName: string): string {
  const subject = replicationCertificateSubject(commonName);
  return `REQUIRE SUBJECT '${subject}' AND ISSUER '${subject}'`;
}

/**
 * The CHANGE MASTER / CHANGE REPLICATION SOURCE options that make a replica
 * connect over TLS with the replication certificate and pin the server's.
 */
export function replicationSourceTlsOptions(engine: MysqlEngine): string[] {
  const p = (prefix: string) => [
    `${prefix}_SSL = 1`,
    `${prefix}_SSL_CA = '${mysqlTlsPath("serverCertificate")}'`,
    `${prefix}_SSL_CERT = '${mysqlTlsPath("replicationCertificate")}'`,
    `${prefix}_SSL_KEY = '${mysqlTlsPath("replicationKey")}'`,
  ];
  return engine === "mariadb" ? p("MASTER") : p("SOURCE");
}

/** Command-line options of the engine's clients that log in as the replication user (the same pinning). */
export function replicationClientTlsFlags(engine: MysqlEngine): string {
  const files = `--ssl-ca=${mysqlTlsPath("serverCertificate")} --ssl-cert=${mysqlTlsPath("replicationCertificate")} --ssl-key=${mysqlTlsPath("replicationKey")}`;
  return engine === "mariadb" ? `--ssl ${files}` : `--ssl-mode=VERIFY_CA ${files}`;
}

/** The server's TLS options for the option file. */
export function serverTlsOptions(): string[] {
  return [
    `ssl_cert = ${mysqlTlsPath("serverCertificate")}`,
    `ssl_key = ${mysqlTlsPath("serverKey")}`,
    "# Client certificates are checked against the replication certificate only (pinned).",
    `ssl_ca = ${mysqlTlsPath("replicationCertificate")}`,
  ];
}

/**
 * Shell (for a start script running as root) that copies the delivered files
 * for the server, which reads them as mysql (the replica's IO thread reads the
 * key at every connect, long after the server dropped root). Fails, naming the
 * missing file, when the target did not deliver one.
 */
export function copyTlsFilesShell(): string[] {
  const names = Object.values(MYSQL_TLS_FILES).join(" ");
  return [
    "# TLS files: delivered for root, copied for the server (it reads them as mysql).",
    "install_tls_files() {",
    `  for f in ${names}; do`,
    `    if [ ! -s "${PATHS.mysqlTlsDir}/$f" ]; then log "${PATHS.mysqlTlsDir}/$f is missing or empty: the deployment must deliver the cluster's TLS files"; exit 1; fi`,
    "  done",
    `  mkdir -p ${PATHS.mysqlRunTlsDir}`,
    `  chown mysql:mysql ${PATHS.mysqlRunTlsDir}`,
    `  chmod 700 ${PATHS.mysqlRunTlsDir}`,
    `  for f in ${names}; do install -o mysql -g mysql -m 0400 "${PATHS.mysqlTlsDir}/$f" "${PATHS.mysqlRunTlsDir}/$f"; done`,
    "}",
  ];
}
