import { Fn, ITerraformDependable, TerraformLocal } from "cdktf";
import { Construct } from "constructs";
import { EbsVolume } from "@cdktf/provider-aws/lib/ebs-volume";
import { Eip } from "@cdktf/provider-aws/lib/eip";
import { Instance } from "@cdktf/provider-aws/lib/instance";
import { NetworkInterface } from "@cdktf/provider-aws/lib/network-interface";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";
import { VolumeAttachment } from "@cdktf/provider-aws/lib/volume-attachment";
import { ServiceRole } from "../../target";
import { SubnetRef } from "./network";
import { HOST_TAG, ROLE_TAG } from "../tags";

/** Device name the data volume is attached as (Nitro instances show it as an NVMe disk). */
export const DATA_DEVICE_NAME = "/dev/sdf";

export interface HostInstanceProps {
  readonly namePrefix: string;
  readonly hostName: string;
  readonly role: ServiceRole;
  /** Private DNS name of the host. */
  readonly fqdn: string;
  readonly zoneId: string;
  readonly subnet: SubnetRef;
  /** A public host gets a network interface with an Elastic IP (the load balancer). */
  readonly public: boolean;
  /**
   * Fixed private addresses of a public host's interface (a member of a
   * load-balancer pair): the primary one (VRRP, its own Elastic IP) and a
   * secondary one that the pair's shared Elastic IP is moved to. @default assigned by AWS
   */
  readonly fixedAddresses?: { readonly primary: string; readonly secondary: string };
  readonly securityGroupIds: readonly string[];
  readonly instanceProfileName: string;
  readonly instanceType: string;
  readonly amiId: string;
  readonly ignoreAmiChanges: boolean;
  readonly rootVolumeSizeGb: number;
  readonly kmsKeyArn?: string;
  readonly keyName?: string;
  readonly dataVolume?: {
    readonly sizeGb: number;
    readonly type: string /** Tags beyond the host's (a DLM policy's target tag). @default none */;
    readonly tags?: Readonly<Record<string, string>>;
  };
  /** User data (the cloud-config text), given the data volume's id (a reference) when there is one. Already escaped for Terraform; gzipped by Terraform. */
  readonly userData: (dataVolumeId: string | undefined) => string;
  /** What must exist before the instance boots (its route to the internet, for packages). */
  readonly dependsOn: readonly ITerraformDependable[];
  /** The S3 objects its prepare step fetches: created before the instance boots. @default none */
  readonly assets?: readonly ITerraformDependable[];
}

/**
 * One host: an EC2 instance (IMDSv2 only, hop limit 1; encrypted gp3 root
 * volume; detailed monitoring; an instance profile; no public address unless it
 * is a load balancer, which gets a network interface with an Elastic IP that
 * survives instance replacement), its encrypted data volume if it keeps data,
 * and its private DNS record.
 */
export class HostInstance extends Construct {
  public readonly instance: Instance;
  public readonly dataVolume?: EbsVolume;
  public readonly attachment?: VolumeAttachment;
  public readonly networkInterface?: NetworkInterface;
  public readonly elasticIp?: Eip;
  public readonly record: Route53Record;
  /** The cloud-config text (a local value, with its references); the instance gets it gzipped. */
  public readonly userData: TerraformLocal;

  constructor(scope: Construct, id: string, props: HostInstanceProps) {
    super(scope, id);
    const name = `${props.namePrefix}-${props.hostName}`;
    const tags = { Name: name, [ROLE_TAG]: props.role, [HOST_TAG]: props.hostName };

    if (props.dataVolume) {
      this.dataVolume = new EbsVolume(this, "data-volume", {
        availabilityZone: props.subnet.availabilityZone,
        size: props.dataVolume.sizeGb,
        type: props.dataVolume.type,
        encrypted: true,
        kmsKeyId: props.kmsKeyArn,
        tags: { ...tags, ...props.dataVolume.tags, Name: `${name}-data` },
      });
    }

    const dependsOn = [...props.dependsOn];
    let network: {
      subnetId?: string;
      vpcSecurityGroupIds?: string[];
      associatePublicIpAddress?: boolean;
      primaryNetworkInterface?: { networkInterfaceId: string };
    };
    if (props.public) {
      // The interface (and its Elastic IP) exists before the instance boots, so
      // cloud-init reaches the mirrors, and keeps its address across replacements.
      this.networkInterface = new NetworkInterface(this, "network-interface", {
        subnetId: props.subnet.id,
        securityGroups: [...props.securityGroupIds],
        ...(props.fixedAddresses ? { privateIpListEnabled: true, privateIpList: [props.fixedAddresses.primary, props.fixedAddresses.secondary] } : {}),
        description: `cdktf-ha-web ${props.role} ${props.hostName}`,
        tags,
      });
      this.elasticIp = new Eip(this, "elastic-ip", {
        domain: "vpc",
        networkInterface: this.networkInterface.id,
        associateWithPrivateIp: props.fixedAddresses?.primary,
        tags,
        dependsOn: [...props.dependsOn],
      });
      dependsOn.push(this.elasticIp);
      network = { primaryNetworkInterface: { networkInterfaceId: this.networkInterface.id } };
    } else {
      network = { subnetId: props.subnet.id, vpcSecurityGroupIds: [...props.securityGroupIds], associatePublicIpAddress: false };
    }

    this.userData = new TerraformLocal(this, "user-data", props.userData(this.dataVolume?.id));
    this.instance = new Instance(this, "instance", {
      ami: props.amiId,
      instanceType: props.instanceType,
      ...network,
      iamInstanceProfile: props.instanceProfileName,
      keyName: props.keyName,
      monitoring: true,
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "disabled" },
      rootBlockDevice: {
        volumeType: "gp3",
        volumeSize: props.rootVolumeSizeGb,
        encrypted: true,
        kmsKeyId: props.kmsKeyArn,
        deleteOnTermination: true,
        tags: { ...tags, Name: `${name}-root` },
      },
      // gzip (cloud-init reads it as is) keeps the configs well under EC2's 16 KB. Terraform
      // compresses the text once it has filled in its references; the text stays readable as a local.
      userDataBase64: Fn.base64gzip(this.userData.asString),
      userDataReplaceOnChange: true,
      tags,
      dependsOn: [...dependsOn, ...(props.assets ?? [])],
      lifecycle: props.ignoreAmiChanges ? { ignoreChanges: ["ami"] } : undefined,
    });

    if (this.dataVolume) {
      this.attachment = new VolumeAttachment(this, "data-volume-attachment", {
        deviceName: DATA_DEVICE_NAME,
        volumeId: this.dataVolume.id,
        instanceId: this.instance.id,
        // Stop the instance first, so the database shuts down cleanly before the volume goes.
        stopInstanceBeforeDetaching: true,
      });
    }

    this.record = new Route53Record(this, "dns-record", {
      zoneId: props.zoneId,
      name: props.fqdn,
      type: "A",
      ttl: 30,
      records: [this.instance.privateIp],
    });
  }
}
