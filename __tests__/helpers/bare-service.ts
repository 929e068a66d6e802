import type { ServiceSpec } from "../../lib/targets/target";

/** A minimal service for a target's addHost (nothing runs it): `overrides` set what a test is about. */
export function bareService(name: string, overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name,
    role: "web",
    software: "nginx",
    command: ["/bin/true"],
    files: [],
    environment: {},
    secretEnvironment: {},
    ingress: [],
    egress: [],
    healthCheck: { command: ["/bin/true"], startPeriodSeconds: 1 },
    stopTimeoutSeconds: 15,
    dependsOn: [],
    ...overrides,
  };
}
