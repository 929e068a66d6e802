/** Docker's embedded DNS, per container: a dnsmasq on 127.0.0.11 inside its network namespace. */
import { spawn } from "child_process";
import { closeSync, openSync, writeFileSync } from "fs";
import { LabContainer, LabPlan } from "./spec";
import { procRef, ProcRef } from "./sys";

/**
 * The names a container can resolve (hosts-file lines): every member, name and
 * aliases, of every network it is on; only the members `listed` accepts (Docker
 * answers for running containers only, see LabOptions.dnsRunningOnly); plus the
 * names of the namespaces a test attached to one of those networks with aliases
 * (Lab.attach), as Docker answers for a client run with `--network-alias`.
 * `moved` (alias -> container name, Lab.moveAlias) takes an alias from the
 * container that declared it and gives it to another on the same network, as
 * `docker network disconnect` and `connect --alias` would.
 * A sidecar (no networks of its own) is in no record: it asks its owner's server.
 */
export function dnsHosts(
  plan: LabPlan,
  addressesOf: (container: string) => Record<string, string>,
  c: LabContainer,
  listed: (container: string) => boolean = () => true,
  clients: readonly { network: string; address: string; names: string[] }[] = [],
  moved: Readonly<Record<string, string>> = {},
): string {
  const lines: string[] = [];
  for (const attachment of c.networks) {
    // The aliases moved onto each container on this network: those some member declared here.
    const declaredHere = new Set(plan.containers.flatMap((p) => p.networks.find((n) => n.network === attachment.network)?.aliases ?? []));
    const movedTo = (name: string) => Object.keys(moved).filter((alias) => moved[alias] === name && declaredHere.has(alias));
    for (const peer of plan.containers) {
      if (!listed(peer.name)) continue;
      const on = peer.networks.find((n) => n.network === attachment.network);
      if (!on) continue;
      const address = addressesOf(peer.name)[attachment.network];
      const aliases = on.aliases.filter((alias) => moved[alias] === undefined || moved[alias] === peer.name);
      lines.push(`${address} ${[...new Set([...aliases, ...movedTo(peer.name), peer.name])].join(" ")}`);
    }
    for (const cl of clients) if (cl.network === attachment.network) lines.push(`${cl.address} ${[...new Set(cl.names)].join(" ")}`);
  }
  return lines.join("\n") + "\n";
}

/** Starts dnsmasq in `netns` answering only from `hostsFile` (NXDOMAIN for anything else, TTL 0). */
export function startDns(netns: string, hostsContent: string, hostsFile: string, logFile: string): ProcRef | undefined {
  writeFileSync(hostsFile, hostsContent);
  const logFd = openSync(logFile, "a");
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      netns,
      "dnsmasq",
      "--keep-in-foreground",
      "--no-resolv",
      "--no-hosts",
      `--addn-hosts=${hostsFile}`,
      "--listen-address=127.0.0.11",
      "--bind-interfaces",
      "--user=root",
      "--group=root",
      "--pid-file=",
      "--local=/#/",
      "--log-facility=-",
      "--cache-size=0",
    ],
    {
      detached: true,
      stdio: ["ignore", logFd, logFd],
    },
  );
  closeSync(logFd);
  child.unref();
  return procRef(child.pid!);
}
