import { Lazy } from "cdktf";
import { Construct } from "constructs";
import { IamInstanceProfile } from "@cdktf/provider-aws/lib/iam-instance-profile";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";
import { ServiceRole } from "../../target";
import { ROLE_CODE } from "../../target";
import { normalizedRecordName, ROUTE53_CHANGE_ARN } from "./route53-move";

export interface HostRolesProps {
  readonly namePrefix: string;
  /** Attach AmazonSSMManagedInstanceCore instead of the Session Manager minimum. */
  readonly managedInstanceCore: boolean;
  /** Customer managed key of the SecureString parameters, if any. */
  readonly kmsKeyArn?: string;
}

/**
 * What Session Manager needs on the instance and nothing more (the managed
 * AmazonSSMManagedInstanceCore policy would also allow ssm:GetParameter on every
 * parameter of the account, including other roles' secrets).
 */
export const SESSION_MANAGER_ACTIONS = [
  "ssm:UpdateInstanceInformation",
  "ssmmessages:CreateControlChannel",
  "ssmmessages:CreateDataChannel",
  "ssmmessages:OpenControlChannel",
  "ssmmessages:OpenDataChannel",
];

/**
 * Which IAM role a host gets: its service role's, or a role of its own beside
 * it (`<role>:<variant>`, the backup source host's, which alone may write the
 * cluster's backups).
 */
export type HostRoleKey = ServiceRole | `${ServiceRole}:${string}`;

/** Short code of a role key in resource names: `db`, or `db-<variant>`. */
export function roleKeyCode(key: HostRoleKey): string {
  const [role, variant] = key.split(":") as [ServiceRole, string | undefined];
  return variant === undefined ? ROLE_CODE[role] : `${ROLE_CODE[role]}-${variant}`;
}

interface Grants {
  readonly parameters: Set<string>;
  readonly objects: Set<string>;
  readonly secretsManager: Set<string>;
  /** Record names (normalized) the hosts may UPSERT as CNAMEs, by hosted zone ARN. */
  readonly recordMoves: Map<string, Set<string>>;
}

/**
 * One IAM role and instance profile per host role. Each role may start Session
 * Manager sessions, read exactly the SSM parameters its hosts' services use,
 * read exactly the S3 objects they download (the app bundle, big service files)
 * and, for the hosts that move a name (a database promotion), UPSERT exactly that
 * CNAME.
 */
export class HostRoles extends Construct {
  public readonly roles: Partial<Record<HostRoleKey, IamRole>> = {};
  public readonly profiles: Partial<Record<HostRoleKey, IamInstanceProfile>> = {};
  private readonly grants: Partial<Record<HostRoleKey, Grants>> = {};

  constructor(
    scope: Construct,
    id: string,
    private readonly props: HostRolesProps,
  ) {
    super(scope, id);
  }

  /** The instance profile of a host role (created on first use). */
  profileFor(role: HostRoleKey): IamInstanceProfile {
    return this.ensure(role).profile;
  }

  private ensure(role: HostRoleKey): { role: IamRole; profile: IamInstanceProfile } {
    const [existingRole, existingProfile] = [this.roles[role], this.profiles[role]];
    if (existingRole && existingProfile) return { role: existingRole, profile: existingProfile };
    const code = roleKeyCode(role);
    const iamRole = new IamRole(this, `${code}-role`, {
      namePrefix: `${this.props.namePrefix}-${code}-`,
      description: `cdktf-ha-web ${role.replace(":", " ")} hosts: Session Manager and their own secrets only`,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
      tags: { Name: `${this.props.namePrefix}-${code}` },
    });
    if (this.props.managedInstanceCore) {
      new IamRolePolicyAttachment(this, `${code}-ssm-core`, { role: iamRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" });
    } else {
      new IamRolePolicy(this, `${code}-session-manager`, {
        role: iamRole.id,
        name: "session-manager",
        policy: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Sid: "SessionManager", Effect: "Allow", Action: SESSION_MANAGER_ACTIONS, Resource: "*" }],
        }),
      });
    }
    const profile = new IamInstanceProfile(this, `${code}-profile`, {
      namePrefix: `${this.props.namePrefix}-${code}-`,
      role: iamRole.name,
      tags: { Name: `${this.props.namePrefix}-${code}` },
    });
    this.roles[role] = iamRole;
    this.profiles[role] = profile;
    return { role: iamRole, profile };
  }

  /** Allows the hosts of `role` to read (and decrypt) these SecureString parameters. */
  grantParameters(role: HostRoleKey, parameterArns: readonly string[]): void {
    if (parameterArns.length === 0) return;
    const grants = this.grantsOf(role);
    for (const arn of parameterArns) grants.parameters.add(arn);
  }

  /** Allows the hosts of `role` to read these Secrets Manager secrets (the user's TLS certificate and key). */
  grantSecretsManagerSecrets(role: HostRoleKey, secretArns: readonly string[]): void {
    if (secretArns.length === 0) return;
    const grants = this.grantsOf(role);
    for (const arn of secretArns) grants.secretsManager.add(arn);
  }

  /**
   * A policy of its own on `role`'s IAM role, produced at synth time (its
   * resources may be instances' attributes: a separate resource keeps the
   * instances free of a dependency on it).
   */
  addPolicy(role: HostRoleKey, id: string, name: string, statements: () => object[]): IamRolePolicy {
    const iamRole = this.ensure(role).role;
    return new IamRolePolicy(this, id, {
      role: iamRole.id,
      name,
      policy: Lazy.stringValue({ produce: () => JSON.stringify({ Version: "2012-10-17", Statement: statements() }) }),
    });
  }

  /** Allows the hosts of `role` to download this S3 object. */
  grantObject(role: HostRoleKey, objectArn: string): void {
    this.grantsOf(role).objects.add(objectArn);
  }

  /**
   * Allows the hosts of `role` to point these names of the hosted zone elsewhere:
   * `route53:ChangeResourceRecordSets` on that zone, conditioned on UPSERTs of
   * CNAMEs of exactly these names; and `route53:GetChange`, which the CLI's waiter
   * polls (change ids are not known in advance: `change/*`, which reveals only a
   * change's status). Pass one string per zone: grants are merged by it.
   */
  grantRecordUpserts(role: HostRoleKey, zoneArn: string, recordNames: readonly string[]): void {
    if (recordNames.length === 0) return;
    const grants = this.grantsOf(role);
    const names = grants.recordMoves.get(zoneArn) ?? new Set<string>();
    for (const name of recordNames) names.add(normalizedRecordName(name));
    grants.recordMoves.set(zoneArn, names);
  }

  private grantsOf(role: HostRoleKey): Grants {
    const existing = this.grants[role];
    if (existing) return existing;
    const grants: Grants = { parameters: new Set(), objects: new Set(), secretsManager: new Set(), recordMoves: new Map() };
    this.grants[role] = grants;
    const iamRole = this.ensure(role).role;
    // Hosts are added one by one: the document is produced at synth time, when all grants are known.
    new IamRolePolicy(this, `${roleKeyCode(role)}-host-access`, {
      role: iamRole.id,
      name: "host-access",
      policy: Lazy.stringValue({ produce: () => JSON.stringify(this.document(grants)) }),
    });
    return grants;
  }

  private document(grants: Grants): object {
    const statements: object[] = [];
    if (grants.parameters.size > 0) {
      statements.push({ Sid: "ReadOwnSecrets", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: [...grants.parameters] });
      if (this.props.kmsKeyArn) {
        statements.push({
          Sid: "DecryptOwnSecrets",
          Effect: "Allow",
          Action: ["kms:Decrypt"],
          Resource: [this.props.kmsKeyArn],
          Condition: { StringLike: { "kms:ViaService": "ssm.*.amazonaws.com" } },
        });
      }
    }
    if (grants.secretsManager.size > 0) {
      statements.push({
        Sid: "ReadOwnSecretsManagerSecrets",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue"],
        Resource: [...grants.secretsManager],
      });
    }
    if (grants.objects.size > 0) {
      statements.push({ Sid: "ReadOwnAssets", Effect: "Allow", Action: ["s3:GetObject"], Resource: [...grants.objects] });
    }
    [...grants.recordMoves].forEach(([zoneArn, names], i) => {
      statements.push({
        Sid: `MoveOwnRecords${i === 0 ? "" : i + 1}`,
        Effect: "Allow",
        Action: ["route53:ChangeResourceRecordSets"],
        Resource: [zoneArn],
        // ForAllValues: every change of the batch must be an UPSERT of a CNAME named here.
        Condition: {
          "ForAllValues:StringEquals": {
            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [...names].sort(),
            "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"],
            "route53:ChangeResourceRecordSetsActions": ["UPSERT"],
          },
        },
      });
    });
    if (grants.recordMoves.size > 0) {
      statements.push({ Sid: "WaitForRecordChanges", Effect: "Allow", Action: ["route53:GetChange"], Resource: [ROUTE53_CHANGE_ARN] });
    }
    return { Version: "2012-10-17", Statement: statements };
  }
}
