/**
 * The lab's reading of a synthesized stack: Terraform references resolved the
 * way Terraform would, anything else refused with its JSON path. No root needed.
 */
import { planFromJson } from "../../lab/spec";

type Resources = Record<string, Record<string, Record<string, unknown>>>;

function stack(container: Record<string, unknown> = {}, extra: Resources = {}) {
  return {
    resource: {
      docker_network: { net_A: { name: "lab-net", internal: true, driver: "bridge" } },
      docker_volume: { vol_B: { name: "lab-vol" } },
      docker_image: { img_C: { name: "nginx:1.22", keep_locally: true } },
      random_password: { pw_D: { length: 24, special: false } },
      docker_container: {
        web_E: {
          name: "lab-web",
          hostname: "web",
          image: "${docker_image.img_C.image_id}",
          entrypoint: ["/bin/sh"],
          command: ["/start.sh"],
          env: ["PASSWORD=${random_password.pw_D.result}"],
          user: "root",
          upload: [{ file: "/start.sh", content: 'echo "$${HOME:-/}" 100%%{x}', executable: true }],
          networks_advanced: [{ name: "${docker_network.net_A.name}", aliases: ["web"] }],
          volumes: [{ volume_name: "${docker_volume.vol_B.name}", container_path: "/data" }],
          healthcheck: { test: ["CMD", "true"], interval: "5s", timeout: "3s", retries: 3, start_period: "20s" },
          labels: [{ label: "peer", value: "${docker_container.web_E.id}" }],
          ...container,
        },
      },
      ...extra,
    } as Resources,
  };
}

describe("lab/spec: reading cdk.tf.json", () => {
  test("resolves the references the Docker target emits and unescapes $${ and %%{ like Terraform", () => {
    const plan = planFromJson(stack() as never, "/tmp/stack");
    const [c] = plan.containers;
    expect(c.networks).toEqual([{ network: "lab-net", aliases: ["web"] }]);
    expect(c.volumes).toEqual([{ volume: "lab-vol", containerPath: "/data", readOnly: false }]);
    expect(c.image).toBe("nginx:1.22");
    expect(c.env[0]).toMatch(/^PASSWORD=[A-Za-z0-9]{24}$/);
    expect(c.env[0].slice("PASSWORD=".length)).toBe(plan.secrets.pw_D);
    expect(c.uploads[0].content).toBe('echo "${HOME:-/}" 100%{x}');
    expect(c.labels.peer).toMatch(/^[0-9a-f]{64}$/);
    expect(c.healthcheck).toEqual({ test: ["CMD", "true"], intervalMs: 5000, timeoutMs: 3000, retries: 3, startPeriodMs: 20000 });
  });

  test("keeps generated passwords stable when given the previous ones", () => {
    const plan = planFromJson(stack() as never, "/tmp/stack", "/tmp/stack/cdk.tf.json", { pw_D: "kept" });
    expect(plan.containers[0].env).toEqual(["PASSWORD=kept"]);
  });

  test.each([
    ["an unescaped shell expansion", { upload: [{ file: "/s.sh", content: 'x="${1:-}"' }] }, "$.resource.docker_container.web_E.upload[0].content: cannot resolve Terraform expression ${1:-}"],
    ["a variable", { env: ["A=${var.secret}"] }, "$.resource.docker_container.web_E.env[0]: cannot resolve Terraform expression ${var.secret}"],
    ["an unknown attribute of a known resource", { env: ["A=${random_password.pw_D.id}"] }, "env[0]: cannot resolve Terraform expression ${random_password.pw_D.id}"],
    ["a reference to another stack's resource", { env: ["A=${random_password.other.result}"] }, "env[0]: cannot resolve"],
    ["a template directive", { command: ["%{ if true }x%{ endif }"] }, "command[0]: cannot resolve Terraform template directive %{ if true }"],
    ["an attribute the lab does not emulate", { privileged: true }, "$.resource.docker_container.web_E.privileged: the lab does not emulate this container attribute"],
  ])("fails loudly with the JSON path on %s", (_what, patch, message) => {
    expect(() => planFromJson(stack(patch) as never, "/tmp/stack", "/tmp/stack/cdk.tf.json", {})).toThrow(message);
  });

  test("refuses resource types it cannot create", () => {
    expect(() => planFromJson(stack({}, { docker_service: { s: { name: "x" } } }) as never, "/tmp/stack")).toThrow('$.resource.docker_service: the lab does not know how to create "docker_service" resources');
  });

  test("starts containers in depends_on order", () => {
    const s = stack();
    const web = s.resource.docker_container.web_E;
    s.resource.docker_container = {
      a_web: { ...web, name: "a-web", hostname: "a-web", labels: undefined, depends_on: ["docker_container.z_db"] },
      z_db: { ...web, name: "z-db", hostname: "z-db", labels: undefined },
    };
    expect(planFromJson(s as never, "/tmp/stack").containers.map((c) => c.name)).toEqual(["z-db", "a-web"]);
  });
});
