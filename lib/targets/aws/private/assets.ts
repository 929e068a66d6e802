import { createHash } from "crypto";
import { AssetType, DefaultTokenResolver, StringConcat, TerraformAsset, Token, Tokenization } from "cdktf";
import { Construct } from "constructs";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { escapeTerraformTemplate } from "../../../private/terraform-escape";
import { tlsOnlyBucketPolicy } from "./tls-only-bucket-policy";

/** A file in the asset bucket. */
export interface StoredAsset {
  readonly s3Uri: string;
  readonly objectArn: string;
  readonly object: S3Object;
}

/** Days a replaced or deleted asset stays recoverable (a rollback's bundle) before its lifecycle rule expires it. */
export const ASSET_NONCURRENT_DAYS = 7;

export interface AssetBucketProps {
  readonly namePrefix: string;
}

/**
 * A private bucket for files too big for user data (the app bundle, ~1 MB; big service files):
 * public access blocked, encrypted at rest (SSE-S3), TLS required, bucket owner
 * enforced, versioned (a replaced object stays recoverable for a week, then its
 * lifecycle rule expires it, with unfinished uploads after a day). Object keys carry the content hash, so a new bundle is a new object
 * and the hosts that use it are replaced.
 */
export class AssetBucket extends Construct {
  public readonly bucket: S3Bucket;
  private readonly assets = new Map<string, StoredAsset>();
  private readonly texts = new Map<string, StoredAsset>();

  constructor(scope: Construct, id: string, props: AssetBucketProps) {
    super(scope, id);
    this.bucket = new S3Bucket(this, "bucket", {
      bucketPrefix: `${props.namePrefix}-assets-`,
      // Only build artifacts live here: destroying the stack may delete them.
      forceDestroy: true,
      tags: { Name: `${props.namePrefix}-assets` },
    });
    new S3BucketPublicAccessBlock(this, "public-access-block", {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, "ownership", { bucket: this.bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } });
    const versioning = new S3BucketVersioningA(this, "versioning", { bucket: this.bucket.id, versioningConfiguration: { status: "Enabled" } });
    new S3BucketLifecycleConfiguration(this, "lifecycle", {
      bucket: this.bucket.id,
      rule: [
        {
          id: "expire-replaced-assets",
          status: "Enabled",
          filter: [{ prefix: "" }],
          noncurrentVersionExpiration: [{ noncurrentDays: ASSET_NONCURRENT_DAYS }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
      ],
      dependsOn: [versioning],
    });
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket: this.bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
    new S3BucketPolicy(this, "tls-only", { bucket: this.bucket.id, policy: tlsOnlyBucketPolicy(this.bucket.arn) });
  }

  /** Uploads a local file (once per source path); the key is `<folder>/<content hash>/<file name>`. */
  add(sourcePath: string, folder: string): StoredAsset {
    const existing = this.assets.get(sourcePath);
    if (existing) return existing;
    const n = this.assets.size + 1;
    const asset = new TerraformAsset(this, `asset-${n}`, { path: sourcePath, type: AssetType.FILE });
    const fileName = sourcePath.split(/[\\/]/).pop() ?? "asset";
    const key = `${folder}/${asset.assetHash}/${fileName}`;
    const object = new S3Object(this, `object-${n}`, {
      bucket: this.bucket.id,
      key,
      source: asset.path,
      sourceHash: asset.assetHash,
      serverSideEncryption: "AES256",
      tags: { Name: fileName },
    });
    const stored = { s3Uri: `s3://${this.bucket.bucket}/${key}`, objectArn: `${this.bucket.arn}/${key}`, object };
    this.assets.set(sourcePath, stored);
    return stored;
  }

  /**
   * Stores text (a service file too big for user data) as an object, once per
   * content; the key is `<folder>/<sha256 of the content>/<file name>`. The text
   * may hold deploy-time references (a zone id): Terraform fills them in, and the
   * hash is taken over the text as synthesized, each reference spelled as its
   * Terraform expression (`${aws_route53_zone.x.zone_id}`), so it does not change
   * with cdktf's token numbering, and two files that differ only by which
   * resource they name get different keys.
   */
  addText(content: string, fileName: string, folder: string): StoredAsset {
    if (!/^[A-Za-z0-9._-]+$/.test(fileName)) throw new Error(`asset file name "${fileName}" must be letters, digits and ._-`);
    const hash = createHash("sha256").update(this.synthesized(content), "utf8").digest("hex");
    const key = `${folder}/${hash}/${fileName}`;
    const existing = this.texts.get(key);
    if (existing) return existing;
    const object = new S3Object(this, `file-${hash.slice(0, 16)}-${fileName}`, {
      bucket: this.bucket.id,
      key,
      // Terraform reads `${` and `%{` in the string as template syntax: the text's own are escaped.
      content: escapeTerraformTemplate(content),
      serverSideEncryption: "AES256",
      tags: { Name: fileName },
    });
    const stored = { s3Uri: `s3://${this.bucket.bucket}/${key}`, objectArn: `${this.bucket.arn}/${key}`, object };
    this.texts.set(key, stored);
    return stored;
  }

  /** The text with its references as Terraform expressions (what the synthesized JSON will hold). */
  private synthesized(content: string): string {
    if (!Token.isUnresolved(content)) return content;
    return String(Tokenization.resolve(content, { scope: this, preparing: false, resolver: new DefaultTokenResolver(new StringConcat()) }));
  }
}
