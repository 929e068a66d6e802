import { Construct } from "constructs";
import { SecurityGroup } from "@cdktf/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktf/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktf/provider-aws/lib/vpc-security-group-ingress-rule";
import { Egress, FlowPeer, HostSpec, Ingress, peerCode, Protocol, ROLE_CODE, ServiceRole } from "../../target";
import { ROLE_TAG } from "../tags";

export interface HostSecurityGroupsProps {
  readonly namePrefix: string;
  readonly vpcId: string;
  /** Opt-in SSH source. */
  readonly sshCidr?: string;
}

/** The flow group of a host's own role: that of its first service of that role (a database cluster's), if any. */
export function hostGroupOf(spec: HostSpec): string | undefined {
  return spec.services.find((s) => s.role === spec.role)?.group;
}

/**
 * Security groups derived from the services' declared flows: one group per
 * service role (a web host carries the web and app groups), one rule per flow
 * between hosts. Flows between services on the same host (Nginx to its app) go
 * over loopback and get no rule. Egress to "internet" (Alertmanager's receiver)
 * is 0.0.0.0/0 on that port only. Every host also carries the `egress` group:
 * TCP 80 to Debian's mirrors and TCP 443 to AWS's APIs, nothing else.
 */
export class HostSecurityGroups extends Construct {
  /** Groups by peer code (a role's, or a database cluster's: see peerCode), created when a host first needs one. */
  public readonly groups: Record<string, SecurityGroup> = {};
  /** Egress every host needs: packages and AWS APIs. */
  public readonly egress: SecurityGroup;
  public readonly ssh?: SecurityGroup;
  private readonly rules = new Set<string>();

  constructor(
    scope: Construct,
    id: string,
    private readonly props: HostSecurityGroupsProps,
  ) {
    super(scope, id);
    this.egress = new SecurityGroup(this, "egress", {
      name: `${props.namePrefix}-egress`,
      description: "cdktf-ha-web: outbound to Debian mirrors (HTTP) and AWS APIs (HTTPS) for every host",
      vpcId: props.vpcId,
      tags: { Name: `${props.namePrefix}-egress` },
    });
    new VpcSecurityGroupEgressRule(this, "egress-https", {
      securityGroupId: this.egress.id,
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIpv4: "0.0.0.0/0",
      description: "HTTPS to AWS APIs (SSM, S3) and the SSM agent download",
    });
    new VpcSecurityGroupEgressRule(this, "egress-http", {
      securityGroupId: this.egress.id,
      ipProtocol: "tcp",
      fromPort: 80,
      toPort: 80,
      cidrIpv4: "0.0.0.0/0",
      description: "HTTP to Debian package mirrors (apt verifies signatures)",
    });
    if (props.sshCidr) {
      this.ssh = new SecurityGroup(this, "ssh", {
        name: `${props.namePrefix}-ssh`,
        description: `cdktf-ha-web: SSH from ${props.sshCidr} (opted in)`,
        vpcId: props.vpcId,
        tags: { Name: `${props.namePrefix}-ssh` },
      });
      new VpcSecurityGroupIngressRule(this, "ssh-ingress", {
        securityGroupId: this.ssh.id,
        ipProtocol: "tcp",
        fromPort: 22,
        toPort: 22,
        cidrIpv4: props.sshCidr,
        description: "SSH from the operators network (sshCidr)",
      });
    }
  }

  /** The group of a service role (of one database cluster, for databases). */
  forRole(role: ServiceRole, group?: string): SecurityGroup {
    const code = peerCode(role, group);
    this.groups[code] ??= new SecurityGroup(this, code, {
      name: `${this.props.namePrefix}-${code}`,
      description: `cdktf-ha-web: ${role} nodes${code === ROLE_CODE[role] ? "" : ` of ${group}`}`,
      vpcId: this.props.vpcId,
      tags: { Name: `${this.props.namePrefix}-${code}`, [ROLE_TAG]: role },
    });
    return this.groups[code];
  }

  /** Ids of the groups an instance of `spec` carries: its services' roles' and its own role's. */
  groupIdsFor(spec: HostSpec): string[] {
    const roles = [...spec.services.map((s) => ({ role: s.role, group: s.group })), { role: spec.role, group: hostGroupOf(spec) }];
    const groups = [...new Map(roles.map((r) => [peerCode(r.role, r.group), this.forRole(r.role, r.group)])).values()];
    return [...groups.map((g) => g.id), this.egress.id, ...(this.ssh ? [this.ssh.id] : [])];
  }

  /**
   * Adds a rule for every flow of `spec`'s services that crosses to another host,
   * and for `hostIngress`: flows to what the target itself runs on the host (the
   * node exporter), on the group of the host's own role.
   */
  addFlows(spec: HostSpec, hostIngress: readonly Ingress[] = []): void {
    const hostRoles = new Set(spec.services.map((s) => s.role));
    // A peer of another role that runs on this very host is reached over loopback.
    const colocated = (own: ServiceRole, peer: FlowPeer) => peer !== "internet" && peer !== own && hostRoles.has(peer);
    const flows: { role: ServiceRole; group?: string; ingress: readonly Ingress[]; egress: readonly Egress[] }[] = [
      ...spec.services,
      { role: spec.role, group: hostGroupOf(spec), ingress: hostIngress, egress: [] },
    ];
    for (const service of flows) {
      const group = this.forRole(service.role, service.group);
      const own = peerCode(service.role, service.group);
      // A peer of the same role is of the same cluster (replicas to their primary).
      const peerGroup = (role: ServiceRole) => this.forRole(role, role === service.role ? service.group : undefined);
      for (const ingress of service.ingress) {
        if (ingress.withinHost || colocated(service.role, ingress.from)) continue;
        const from = ingress.from === "internet" ? "internet" : peerCode(ingress.from, ingress.from === service.role ? service.group : undefined);
        const key = `${own}-in-${flowCode(ingress.protocol, ingress.port)}-from-${from}`;
        if (this.rules.has(key)) continue;
        this.rules.add(key);
        // A flow from the own role references the group itself: VRRP (IP protocol 112) between the load
        // balancers is allowed only among the members of the load-balancer group, which only load-balancer
        // hosts carry (with one pair per stack: between those two only). Each host's nftables ruleset
        // narrows it further, to its own pair's fixed addresses.
        new VpcSecurityGroupIngressRule(this, key, {
          securityGroupId: group.id,
          ...protocolAndPorts(ingress.protocol, ingress.port),
          ...(ingress.from === "internet" ? { cidrIpv4: "0.0.0.0/0" } : { referencedSecurityGroupId: peerGroup(ingress.from).id }),
          description: ruleDescription(ingress.description),
          tags: { Name: `${this.props.namePrefix}-${key}` },
        });
      }
      for (const egress of service.egress) {
        if (egress.withinHost || colocated(service.role, egress.to)) continue;
        const to = egress.to === "internet" ? "internet" : peerCode(egress.to, egress.toGroup);
        const key = `${own}-out-${flowCode(egress.protocol, egress.port)}-to-${to}`;
        if (this.rules.has(key)) continue;
        this.rules.add(key);
        // Anywhere outside the stack (a webhook or SMTP receiver): that one port only, never all traffic (CKV_AWS_382).
        new VpcSecurityGroupEgressRule(this, key, {
          securityGroupId: group.id,
          ...protocolAndPorts(egress.protocol, egress.port),
          ...(egress.to === "internet" ? { cidrIpv4: "0.0.0.0/0" } : { referencedSecurityGroupId: this.forRole(egress.to, egress.toGroup).id }),
          description: ruleDescription(egress.description),
          tags: { Name: `${this.props.namePrefix}-${key}` },
        });
      }
    }
  }
}

/** A rule's protocol and ports: VRRP is IP protocol 112 and has none. */
function protocolAndPorts(protocol: Protocol | undefined, port: number): { ipProtocol: string; fromPort?: number; toPort?: number } {
  if (protocol === "vrrp") return { ipProtocol: "112" };
  return { ipProtocol: protocol ?? "tcp", fromPort: port, toPort: port };
}

/** The flow in a rule's id: "80" for TCP (as always), "udp-53", "vrrp". */
function flowCode(protocol: Protocol | undefined, port: number): string {
  if (protocol === undefined || protocol === "tcp") return String(port);
  return protocol === "vrrp" ? "vrrp" : `${protocol}-${port}`;
}

/** Security group (rule) descriptions allow only a-z A-Z 0-9 spaces and ._-:/()#,@[]+=&;{}!$* (at most 255). */
export function ruleDescription(text: string): string {
  return text.replace(/[^A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]/g, "").slice(0, 255);
}
