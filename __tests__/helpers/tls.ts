import { spawnSync } from "child_process";

/**
 * Writes a throwaway self-signed ECDSA pair with openssl: the certificate at
 * `certificatePath`, its key beside it at `<certificatePath>.key`, where HAProxy
 * loads it from on its own. Throws with openssl's message if it fails.
 */
export function writeThrowawayCertificate(certificatePath: string): void {
  const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=test"];
  const result = spawnSync("openssl", [...args, "-keyout", `${certificatePath}.key`, "-out", certificatePath], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`openssl could not make a throwaway certificate: ${result.stderr}`);
}
