import { MONITORING_PORTS, MONITORING_USER } from "../../../../templates/scripts/monitoring";
import { Ingress, MetricsPort } from "../../target";
import { CloudConfigService } from "./cloud-init";

/**
 * The node exporter AwsTarget runs on every VM it creates: the machine's own
 * metrics (CPU, memory, disks, the data volume's file system) for Prometheus'
 * job "node", which the shipped InstanceDown and DiskNearlyFull alerts read.
 * Debian's package, run by a unit of ours like every other service (its own
 * unit is masked): it starts only once the host firewall is loaded, and does
 * not wait for the prepare step (a host whose volume or secrets failed is still
 * measured). Only the monitoring hosts reach its port.
 */
export const NODE_EXPORTER = {
  /** Name of its systemd unit (`ha-web-node-exporter.service`): no service of a host may use it. */
  service: "node-exporter",
  package: "prometheus-node-exporter",
  /** Debian's own unit, masked before the package is installed (ours runs the binary). */
  distributionUnit: "prometheus-node-exporter.service",
  binary: "/usr/bin/prometheus-node-exporter",
  port: MONITORING_PORTS.nodeExporter,
  job: "node",
  /** Created by the package (the same user every monitoring package creates). */
  user: MONITORING_USER,
  /**
   * Packages kept off the VM (an apt pin): the package recommends its
   * collectors, which would bring ipmitool, OpenIPMI, smartmontools and nvme-cli,
   * their services (failing on EC2) and root timers for textfile metrics nobody scrapes.
   */
  heldBack: ["prometheus-node-exporter-collectors"],
} as const;

/** What AwsTarget reports as `hostExporters`: the node exporter on every VM. */
export const AWS_HOST_EXPORTERS: readonly MetricsPort[] = [{ job: NODE_EXPORTER.job, port: NODE_EXPORTER.port }];

/** The flow the node exporter accepts: Prometheus on the monitoring hosts, nothing else. */
export function nodeExporterIngress(): Ingress {
  return { port: NODE_EXPORTER.port, from: "monitoring", description: "Prometheus scrapes the node exporter" };
}

/**
 * The node exporter's unit on a host; with `textfileDir` (a service's
 * `textfileMetricsDir`: the backup metrics) its textfile collector reads that directory.
 */
export function nodeExporterService(textfileDir?: string): CloudConfigService {
  return {
    name: NODE_EXPORTER.service,
    role: "machine metrics",
    command: [
      NODE_EXPORTER.binary,
      `--web.listen-address=:${NODE_EXPORTER.port}`,
      ...(textfileDir === undefined ? [] : [`--collector.textfile.directory=${textfileDir}`]),
    ],
    environment: {},
    secrets: [],
    user: NODE_EXPORTER.user,
    requiresPrepare: false,
    stopTimeoutSeconds: 5,
  };
}
