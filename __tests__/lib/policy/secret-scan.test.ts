import { gzipSync } from "zlib";
import { findSecretsInText, shannonEntropy } from "../../../lib/policy/secret-scan";
import { renderPrimaryStartScript, renderReplicaStartScript } from "../../../templates/scripts/database";
import { renderHttpHealthcheckScript } from "../../../templates/scripts/healthcheck";

describe("findSecretsInText (CKV_AWS_46's heuristics)", () => {
  test.each([
    ["DB_PASSWORD=hunter2hunter2", "a literal value for DB_PASSWORD"],
    ["password: correct-horse", "a literal value for password"],
    ["export API_KEY='abc123def'", "a literal value for API_KEY"],
    ["CREATE USER 'a'@'%' IDENTIFIED BY 'hunter2';", "a literal password in SQL (IDENTIFIED BY)"],
    ["-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----", "a private key"],
    ["AWS_ACCESS_KEY_ID AKIAABCDEFGHIJKLMNOP", "an AWS access key id"],
    ["export X=${random_password.db.result}", "a reference to random_password.db.result, a secret value"],
    ["v=${data.aws_ssm_parameter.db.value}", "a reference to data.aws_ssm_parameter.db.value, a secret value"],
    ["v=${aws_secretsmanager_secret_version.s.secret_string}", "a reference to aws_secretsmanager_secret_version.s.secret_string, a secret value"],
    ["k=${tls_private_key.k.private_key_pem}", "a reference to tls_private_key.k.private_key_pem, a secret value"],
    ["mysql -p Zk3v9QpL2mXw8RtY6uBn4JhG7fDs1aCe", "a high-entropy string (32 characters) that looks like a key or password"],
    ["aws_secret_access_key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "a high-entropy string (40 characters) that looks like a key or password"],
  ])("finds %j", (text, hit) => {
    expect(findSecretsInText(text)).toContain(hit);
  });

  test("a sensitive variable is a secret; another variable is not", () => {
    const sensitiveVariables = new Set(["db_password"]);
    expect(findSecretsInText("p=${var.db_password} r=${var.region}", { sensitiveVariables })).toEqual([
      "a reference to the sensitive variable var.db_password",
    ]);
  });

  test("base64 user data is decoded (and gunzipped) first", () => {
    expect(findSecretsInText(Buffer.from("TOKEN=abcdef123456").toString("base64"), { base64: true })).toEqual(["a literal value for TOKEN (base64-decoded)"]);
    expect(findSecretsInText(gzipSync("DB_PASSWORD=hunter2hunter2").toString("base64"), { base64: true })).toEqual([
      "a literal value for DB_PASSWORD (base64-decoded)",
    ]);
    expect(findSecretsInText(Buffer.from("#!/bin/sh\necho hello\n").toString("base64"), { base64: true })).toEqual([]);
  });

  test.each([
    ["a secret read at run time", "APP_PASSWORD=$(read_secret HAWEB_DB_APP_PASSWORD)"],
    ["a file that holds a secret", "Environment=DB_PASSWORD_FILE=%d/DB_PASSWORD\nLoadCredential=DB_PASSWORD:/run/ha-web/secrets/db"],
    ["an escaped template, which Terraform leaves as text", "echo $${random_password.db.result}"],
    ["a parameter name", "retry fetch_secret '/haweb/db-app-password' '/run/ha-web/secrets/haweb-db-app-password'"],
    ["settings that only sound secret", "lock_passwd: true\nhttp_tokens: required\nX-aws-ec2-metadata-token-ttl-seconds: 300"],
    ["a comment", "# Secrets: SecureString parameters"],
    ["a content hash", "s3://bucket/assets/323F5CE0635862FB329139F9D0A629CA/server.js"],
    [
      "the database start scripts",
      renderPrimaryStartScript({
        engine: "mariadb",
        database: "appdb",
        appUser: "app",
        replicationUser: "repl",
        replicationCertificateName: "db-replication",
      }) + renderReplicaStartScript({ engine: "mariadb", primaryHost: "db-primary", replicationUser: "repl" }),
    ],
    ["the health check", renderHttpHealthcheckScript()],
  ])("ignores %s", (_what, text) => {
    expect(findSecretsInText(text)).toEqual([]);
  });

  test("entropy in bits per character", () => {
    expect(shannonEntropy("aaaa")).toBe(0);
    expect(shannonEntropy("abcd")).toBe(2);
  });
});
