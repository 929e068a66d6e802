import { Construct } from "constructs";
import { isDnsLabel, isDockerName, isPort } from "../../../templates/validate";
import { PropValidator } from "../../private/validation";
import { Software } from "../target";
import type { DockerTargetProps } from "./docker-target";
import { DEFAULT_DOCKER_IMAGES } from "./images";

/** An image reference as Docker parses it: [registry[:port]/]name[/name...][:tag][@sha256:digest]. */
const IMAGE_REFERENCE =
  /^(?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

export function isImageReference(value: string): boolean {
  return IMAGE_REFERENCE.test(value);
}

/** An IPv4 address with every octet in 0-255. */
export function isIpv4(value: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/** The rules of DockerTargetProps (what Docker and the docker provider accept). */
export function validateDockerTargetProps(scope: Construct, props: DockerTargetProps, namePrefix: string, publishAddress: string, images: Record<Software, string>, publishPort: number): void {
  const v = new PropValidator("DockerTarget", scope);
  v.check(isDnsLabel(namePrefix) && isDockerName(namePrefix) && namePrefix.length <= 30, "namePrefix", `"${namePrefix}" is not a valid Docker name and DNS label of at most 30 characters`, 'use lower-case letters, digits and dashes, for example "haweb"');
  v.check(isIpv4(publishAddress), "publishAddress", `"${publishAddress}" is not an IPv4 address`, 'use "127.0.0.1" (local only) or "0.0.0.0"');
  for (const software of Object.keys(props.images ?? {})) {
    v.check(software in DEFAULT_DOCKER_IMAGES, "images", `has "${software}", which is no software the library runs`, `use the keys ${Object.keys(DEFAULT_DOCKER_IMAGES).join(", ")}`);
  }
  for (const [software, image] of Object.entries(images)) {
    v.check(typeof image === "string" && isImageReference(image), `images.${software}`, `"${image}" is not an image reference`, 'use a reference like "nginx:1.22" or "registry.example.com/team/nginx:1.22@sha256:..."');
  }
  if (props.dockerHost !== undefined) {
    v.check(/^(unix|tcp|ssh|npipe):\/\/.+/.test(props.dockerHost), "dockerHost", `"${props.dockerHost}" is not a Docker daemon address`, 'use "unix:///var/run/docker.sock", "tcp://host:2376" or "ssh://user@host"');
    v.check(props.createProviders !== false, "dockerHost", "is set with createProviders: false, so no provider of this target would use it", "set the host on your own DockerProvider, or let the target create it");
  }
  v.check(isPort(publishPort), "publishPort", `is ${publishPort}; it must be a whole number in 1-65535`, "use 8080");
  v.throwIfInvalid();
}
