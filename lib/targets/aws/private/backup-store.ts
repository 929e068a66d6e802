import { Construct } from "constructs";
import { DlmLifecyclePolicy } from "@cdktf/provider-aws/lib/dlm-lifecycle-policy";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketObjectLockConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-object-lock-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { BackupObjectLock } from "../props";
import { tlsOnlyBucketPolicy } from "./tls-only-bucket-policy";

/** The tag that puts a database data volume under its cluster's snapshot policy (value: `<namePrefix>-<cluster>`). */
export const BACKUP_SNAPSHOT_TAG = "ha-web:backup";

/** The UTC time the daily EBS snapshots start (DLM's window opens then and lasts about an hour). */
export const SNAPSHOT_TIME_UTC = "03:00";

export interface BackupStoreProps {
  readonly namePrefix: string;
  /** The cluster's name prefix: the key prefix of its backups, and part of the names. */
  readonly cluster: string;
  /** Days after which S3 expires a backup object, and a replaced or deleted version. */
  readonly expireAfterDays: number;
  /** Daily snapshots kept. */
  readonly retentionDays: number;
  /** SSE-KMS with this key; else SSE-S3. */
  readonly kmsKeyArn?: string;
  readonly objectLock?: BackupObjectLock;
  /** The partition (a reference), for the DLM role's managed policy ARN. */
  readonly partition: string;
}

/**
 * One cluster's off-site backups on AWS: a dedicated S3 bucket (public access
 * blocked, bucket owner enforced, TLS required, versioned, encrypted at rest,
 * objects and old versions expired after the retention, optionally Object
 * Lock) and a Data Lifecycle Manager policy taking a daily snapshot of every
 * data volume tagged for the cluster. The bucket outlives `cdktf destroy`
 * unless emptied first (backups must not go with the stack).
 */
export class AwsBackupStore extends Construct {
  public readonly bucket: S3Bucket;
  public readonly snapshotPolicy: DlmLifecyclePolicy;
  /** The tag value of the cluster's data volumes (BACKUP_SNAPSHOT_TAG). */
  public readonly snapshotTagValue: string;

  constructor(scope: Construct, id: string, props: BackupStoreProps) {
    super(scope, id);
    const name = `${props.namePrefix}-${props.cluster}-backups`;
    // bucket_prefix takes at most 37 characters; Terraform appends a unique suffix.
    this.bucket = new S3Bucket(this, "bucket", {
      bucketPrefix: `${props.namePrefix}-${props.cluster}-bk-`.slice(0, 37),
      forceDestroy: false,
      objectLockEnabled: props.objectLock ? true : undefined,
      tags: { Name: name },
    });
    const bucket = this.bucket.id;
    new S3BucketPublicAccessBlock(this, "public-access-block", {
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, "ownership", { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } });
    const versioning = new S3BucketVersioningA(this, "versioning", { bucket, versioningConfiguration: { status: "Enabled" } });
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket,
      rule: [
        props.kmsKeyArn
          ? { applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: props.kmsKeyArn }, bucketKeyEnabled: true }
          : { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      ],
    });
    new S3BucketPolicy(this, "tls-only", { bucket: bucket, policy: tlsOnlyBucketPolicy(this.bucket.arn) });
    new S3BucketLifecycleConfiguration(this, "lifecycle", {
      bucket,
      rule: [
        {
          id: "expire-backups",
          status: "Enabled",
          filter: [{ prefix: `${props.cluster}/` }],
          // The backup command removes backups past the retention itself; this is the bound if it cannot.
          expiration: [{ days: props.expireAfterDays }],
          // A replaced or deleted object stays recoverable this long.
          noncurrentVersionExpiration: [{ noncurrentDays: props.expireAfterDays }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 1 }],
        },
      ],
      // S3 refuses a lifecycle configuration on a bucket whose versioning is not set yet.
      dependsOn: [versioning],
    });
    if (props.objectLock) {
      new S3BucketObjectLockConfigurationA(this, "object-lock", {
        bucket,
        rule: { defaultRetention: { mode: props.objectLock.mode ?? "GOVERNANCE", days: props.objectLock.days } },
        dependsOn: [versioning],
      });
    }

    // Daily EBS snapshots of the cluster's data volumes (crash-consistent; InnoDB recovers them like a power cut).
    this.snapshotTagValue = `${props.namePrefix}-${props.cluster}`;
    const role = new IamRole(this, "snapshot-role", {
      namePrefix: `${props.namePrefix}-dlm-`,
      description: `cdktf-ha-web: Data Lifecycle Manager snapshots of the ${props.cluster} database volumes`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "dlm.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      tags: { Name: `${name}-snapshots` },
    });
    new IamRolePolicyAttachment(this, "snapshot-role-policy", {
      role: role.name,
      policyArn: `arn:${props.partition}:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole`,
    });
    this.snapshotPolicy = new DlmLifecyclePolicy(this, "snapshots", {
      description: `cdktf-ha-web ${this.snapshotTagValue}: daily snapshots of the database data volumes`,
      executionRoleArn: role.arn,
      state: "ENABLED",
      policyDetails: {
        resourceTypes: ["VOLUME"],
        targetTags: { [BACKUP_SNAPSHOT_TAG]: this.snapshotTagValue },
        schedule: [
          {
            name: "daily",
            createRule: { interval: 24, intervalUnit: "HOURS", times: [SNAPSHOT_TIME_UTC] },
            retainRule: { count: props.retentionDays },
            copyTags: true,
            tagsToAdd: { "ha-web:snapshot": "dlm" },
          },
        ],
      },
      tags: { Name: `${name}-snapshots` },
    });
  }
}
