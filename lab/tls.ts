/**
 * The TLS material a stack asks Terraform's tls provider for (`tls_private_key`,
 * `tls_self_signed_cert`), made by the lab with openssl, as the provider would at
 * apply time. Kept in the lab's state dir (mode 0600), so the same key and
 * certificate serve every start until `down`, like the generated passwords.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { sh } from "./sys";

export const TLS_RESOURCE_TYPES = ["tls_private_key", "tls_self_signed_cert"];

/** Generated keys and certificates by resource key, with the files they are kept in. */
export interface TlsMaterial {
  keys: Record<string, { pem: string; file: string }>;
  certs: Record<string, { pem: string; file: string; key: string }>;
}

type Attrs = Record<string, unknown>;

const CURVES: Record<string, string> = { P256: "prime256v1", P384: "secp384r1", P521: "secp521r1" };

/** allowed_uses (the tls provider's names) → openssl's keyUsage / extendedKeyUsage names. */
const KEY_USAGE: Record<string, string> = {
  digital_signature: "digitalSignature",
  content_commitment: "nonRepudiation",
  key_encipherment: "keyEncipherment",
  data_encipherment: "dataEncipherment",
  key_agreement: "keyAgreement",
  cert_signing: "keyCertSign",
  crl_signing: "cRLSign",
  encipher_only: "encipherOnly",
  decipher_only: "decipherOnly",
};
const EXTENDED_KEY_USAGE: Record<string, string> = {
  server_auth: "serverAuth",
  client_auth: "clientAuth",
  code_signing: "codeSigning",
  email_protection: "emailProtection",
  timestamping: "timeStamping",
  ocsp_signing: "OCSPSigning",
};
const SUBJECT: Record<string, string> = {
  common_name: "CN",
  organization: "O",
  organizational_unit: "OU",
  country: "C",
  province: "ST",
  locality: "L",
  postal_code: "postalCode",
  street_address: "street",
  serial_number: "serialNumber",
};

function known(attrs: Attrs, allowed: string[], path: string): void {
  for (const k of Object.keys(attrs)) {
    if (k !== "//" && !allowed.includes(k)) throw new Error(`${path}.${k}: the lab does not emulate this attribute of the tls provider`);
  }
}

/**
 * Makes (or reuses, from `dir`) every key and certificate of the stack. Without
 * `dir`, works in a temporary directory and removes it (the spec tests).
 */
export function generateTlsMaterial(keys: Record<string, Attrs> | undefined, certs: Record<string, Attrs> | undefined, dir?: string): TlsMaterial {
  const out: TlsMaterial = { keys: {}, certs: {} };
  if (Object.keys(keys ?? {}).length + Object.keys(certs ?? {}).length === 0) return out;
  const work = dir ?? mkdtempSync(join(tmpdir(), "hwl-tls-"));
  try {
    mkdirSync(work, { recursive: true, mode: 0o700 });
    chmodSync(work, 0o700);
    for (const [key, k] of Object.entries(keys ?? {})) {
      const path = `$.resource.tls_private_key.${key}`;
      known(k, ["algorithm", "ecdsa_curve", "rsa_bits"], path);
      const file = join(work, `${key}.key.pem`);
      if (!existsSync(file)) {
        const algorithm = String(k.algorithm ?? "");
        if (algorithm === "ECDSA") {
          const curve = CURVES[String(k.ecdsa_curve ?? "P224")];
          if (!curve) throw new Error(`${path}.ecdsa_curve: "${String(k.ecdsa_curve)}" is not a curve the lab generates (P256, P384, P521)`);
          // SEC1 "EC PRIVATE KEY", the PEM the tls provider writes for ECDSA.
          sh("openssl", ["ecparam", "-name", curve, "-genkey", "-noout", "-out", file]);
        } else if (algorithm === "RSA") {
          sh("openssl", ["genrsa", "-traditional", "-out", file, String(Number(k.rsa_bits ?? 2048))]);
        } else throw new Error(`${path}.algorithm: "${algorithm}" is not an algorithm the lab generates (ECDSA, RSA)`);
        chmodSync(file, 0o600);
      }
      out.keys[key] = { pem: readFileSync(file, "utf8"), file };
    }
    for (const [key, c] of Object.entries(certs ?? {})) {
      const path = `$.resource.tls_self_signed_cert.${key}`;
      known(
        c,
        [
          "private_key_pem",
          "subject",
          "dns_names",
          "ip_addresses",
          "uris",
          "validity_period_hours",
          "allowed_uses",
          "is_ca_certificate",
          "early_renewal_hours",
        ],
        path,
      );
      const ref = /^\$\{tls_private_key\.([A-Za-z0-9_-]+)\.private_key_pem\}$/.exec(String(c.private_key_pem ?? ""));
      if (!ref || !out.keys[ref[1]])
        throw new Error(`${path}.private_key_pem: must be \${tls_private_key.X.private_key_pem} of a key of this stack, not "${String(c.private_key_pem)}"`);
      const file = join(work, `${key}.cert.pem`);
      if (!existsSync(file)) {
        const subjectBlock = ((Array.isArray(c.subject) ? c.subject[0] : c.subject) ?? {}) as Attrs;
        const subject = Object.entries(subjectBlock)
          .map(([k, v]) => {
            if (!SUBJECT[k]) throw new Error(`${path}.subject.${k}: not a subject field the lab knows`);
            return `/${SUBJECT[k]}=${String(v).replace(/[/\\]/g, "\\$&")}`;
          })
          .join("");
        const san = [
          ...((c.dns_names as string[] | undefined) ?? []).map((d) => `DNS:${d}`),
          ...((c.ip_addresses as string[] | undefined) ?? []).map((a) => `IP:${a}`),
          ...((c.uris as string[] | undefined) ?? []).map((u) => `URI:${u}`),
        ];
        const uses = ((c.allowed_uses as string[] | undefined) ?? []).map(String);
        for (const u of uses) if (!KEY_USAGE[u] && !EXTENDED_KEY_USAGE[u]) throw new Error(`${path}.allowed_uses: "${u}" is not a use the lab knows`);
        const ku = uses.filter((u) => KEY_USAGE[u]).map((u) => KEY_USAGE[u]);
        const eku = uses.filter((u) => EXTENDED_KEY_USAGE[u]).map((u) => EXTENDED_KEY_USAGE[u]);
        const hours = Number(c.validity_period_hours);
        if (!Number.isInteger(hours) || hours < 1) throw new Error(`${path}.validity_period_hours: must be a whole number of hours`);
        const args = ["req", "-x509", "-new", "-key", out.keys[ref[1]].file, "-out", file, "-days", String(Math.max(1, Math.ceil(hours / 24)))];
        args.push("-subj", subject || "/", "-addext", `basicConstraints=critical,CA:${c.is_ca_certificate === true ? "TRUE" : "FALSE"}`);
        if (san.length > 0) args.push("-addext", `subjectAltName=${san.join(",")}`);
        if (ku.length > 0) args.push("-addext", `keyUsage=critical,${ku.join(",")}`);
        if (eku.length > 0) args.push("-addext", `extendedKeyUsage=${eku.join(",")}`);
        sh("openssl", args);
        chmodSync(file, 0o600);
      }
      out.certs[key] = { pem: readFileSync(file, "utf8"), file, key: ref[1] };
    }
    return out;
  } finally {
    if (!dir) rmSync(work, { recursive: true, force: true });
  }
}
