import { Token } from "cdktf";
import { BackupPlan, BackupStoreConfig } from "../../templates/mysql/backup-plan";

/**
 * Literal stand-ins for a store's deploy-time references, each a value the
 * backup templates' validation accepts and that appears nowhere else in the
 * rendered files: the templates validate and render with them, then every
 * stand-in is replaced by its reference, which Terraform fills in (as it does
 * the zone id in the failover script).
 */
const STAND_INS: Readonly<Record<string, string>> = {
  bucket: "ha-web-deploy-time-bucket-7f3c",
  region: "zz-deploytimeregion-9",
  kmsKeyId: "ha-web-deploy-time-kms-key-7f3c",
  prefix: "ha-web-deploy-time-prefix-7f3c",
  path: "/ha-web-deploy-time-store-path-7f3c",
};

/**
 * A plan whose store may hold deploy-time references (AWS: the backup bucket's
 * name), split into a literal plan the templates can validate and render, and a
 * function that puts the references back into the rendered text.
 */
export interface RenderablePlan {
  /** The plan with every reference in its store replaced by a literal stand-in. */
  readonly literal: BackupPlan;
  /** Replaces the stand-ins in rendered text by the references they stand for. */
  readonly resolve: (text: string) => string;
}

export function renderablePlan(plan: BackupPlan): RenderablePlan {
  const replacements: [string, string][] = [];
  const store: Record<string, unknown> = { ...plan.store };
  for (const [field, value] of Object.entries(plan.store)) {
    if (typeof value !== "string" || !Token.isUnresolved(value)) continue;
    const standIn = STAND_INS[field];
    if (standIn === undefined)
      throw new Error(`backup store field "${field}" is a deploy-time reference, which cdktf-ha-web cannot render: please report this`);
    store[field] = standIn;
    replacements.push([standIn, value]);
  }
  return {
    literal: { ...plan, store: store as unknown as BackupStoreConfig },
    resolve: (text) => replacements.reduce((t, [standIn, value]) => t.split(standIn).join(value), text),
  };
}
