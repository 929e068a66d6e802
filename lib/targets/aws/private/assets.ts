import { AssetType, TerraformAsset } from "cdktf";
import { Construct } from "constructs";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";

/** A file in the asset bucket. */
export interface StoredAsset {
  readonly s3Uri: string;
  readonly objectArn: string;
  readonly object: S3Object;
}

export interface AssetBucketProps {
  readonly namePrefix: string;
}

/**
 * A private bucket for files too big for user data (the app bundle, ~1 MB):
 * public access blocked, encrypted at rest (SSE-S3), TLS required, bucket owner
 * enforced. Object keys carry the content hash, so a new bundle is a new object
 * and the hosts that use it are replaced.
 */
export class AssetBucket extends Construct {
  public readonly bucket: S3Bucket;
  private readonly assets = new Map<string, StoredAsset>();

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
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket: this.bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
    new S3BucketPolicy(this, "tls-only", {
      bucket: this.bucket.id,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [this.bucket.arn, `${this.bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      }),
    });
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
}
