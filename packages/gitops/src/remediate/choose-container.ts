import { LocateError } from "../locate/locate-error.js";
import type { WorkloadLocation } from "../locate/locate-workload.js";

/**
 * The container whose image is the service's version, when `image.container` is not set:
 * the only container; else the one named like the service; else the one whose image
 * repository's last path part is the service (`registry.example.com/team/checkout:v1` →
 * `checkout`). A configured name may be a template: `{service}` is replaced. Throws a
 * {@link LocateError} naming the containers found and what to set when none or several match,
 * so a pod with a sidecar is never edited by guess.
 */
export function chooseContainer(options: {
  readonly configured: string | undefined;
  readonly service: string;
  readonly location: WorkloadLocation;
}): string | undefined {
  const { service, location } = options;
  if (options.configured !== undefined) return options.configured.replaceAll("{service}", service);
  const containers = location.images;
  if (containers.length <= 1) return undefined;
  const names = containers.map((entry) => entry.container).join(", ");
  const where = `${location.kind} ${location.name} in ${location.path}`;
  const byName = containers.filter((entry) => entry.container === service);
  if (byName.length === 1) return service;
  const byImage = containers.filter((entry) => imageRepositoryName(entry.image) === service);
  const [only, ...others] = byImage;
  if (only !== undefined && others.length === 0) return only.container;
  if (byImage.length > 1) {
    throw new LocateError(
      `${where} has ${containers.length} containers (${names}); ${byImage.length} run an image named ${service} (${byImage.map((entry) => entry.container).join(", ")}): set image.container`,
    );
  }
  throw new LocateError(
    `${where} has ${containers.length} containers (${names}); none is named "${service}" and none runs an image named ${service}: set image.container`,
  );
}

/** The last path part of an image's repository: `registry:5000/team/checkout:v1@sha256:…` → `checkout`. */
export function imageRepositoryName(image: string): string {
  const withoutDigest = image.split("@")[0] ?? "";
  const last = withoutDigest.split("/").at(-1) ?? "";
  return last.split(":")[0] ?? "";
}
