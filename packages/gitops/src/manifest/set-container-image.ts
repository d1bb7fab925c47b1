import { isSeq } from "yaml";
import { findWorkload } from "./find-workload.js";
import type { ManifestEdit, WorkloadSelector } from "./manifest-edit.js";
import { ManifestError } from "./manifest-error.js";
import { formatPath, lookup, type PathSegment, parseManifest, stringAt } from "./parse-manifest.js";
import { replaceScalar } from "./replace-scalar.js";

/** Options of {@link setContainerImage}. */
export interface SetContainerImageOptions {
  /** The new image reference, e.g. `ghcr.io/acme/app:1.4.2`. */
  readonly image: string;
  /**
   * The container's `name`. Init containers are searched only by name.
   * @default the only entry of `containers`
   */
  readonly container?: string;
  /**
   * Which workload to edit in a multi-document file.
   * @default the only Deployment, StatefulSet, DaemonSet or Rollout in the file
   */
  readonly workload?: WorkloadSelector;
}

/** Workload kinds whose pod template sits at `spec.template`. */
export const podTemplateKinds: readonly string[] = ["Deployment", "StatefulSet", "DaemonSet", "Rollout"];

const operation = "setContainerImage";

/**
 * Sets the `image` of one container of a Deployment, StatefulSet, DaemonSet or Argo Rollout,
 * changing no other byte of `text`. Throws `ManifestError` when the YAML does not parse, or
 * the workload or container is missing or ambiguous.
 */
export function setContainerImage(text: string, options: SetContainerImageOptions): ManifestEdit {
  const manifest = parseManifest(text, operation);
  const { documentIndex } = findWorkload(manifest, podTemplateKinds, options.workload, operation);
  const contents = manifest.documents[documentIndex]?.contents;
  const listNames = options.container === undefined ? ["containers"] : ["containers", "initContainers"];
  const candidates: { path: PathSegment[]; name: string | undefined }[] = [];
  for (const listName of listNames) {
    const listPath: PathSegment[] = ["spec", "template", "spec", listName];
    const list = lookup(contents, listPath);
    if (!list.found) continue;
    if (!isSeq(list.node)) {
      throw new ManifestError("is not a list", { path: formatPath(listPath), documentIndex, operation });
    }
    for (const index of list.node.items.keys()) {
      const path = [...listPath, index];
      candidates.push({ path, name: stringAt(contents, [...path, "name"]) });
    }
  }
  const containersPath = "spec.template.spec.containers";
  const names = candidates.map((candidate) => candidate.name ?? "(unnamed)").join(", ") || "none";
  const matches =
    options.container === undefined
      ? candidates
      : candidates.filter((candidate) => candidate.name === options.container);
  const [only, ...others] = matches;
  if (only === undefined) {
    const message =
      options.container === undefined
        ? "the workload has no containers"
        : `no container named "${options.container}"; found: ${names}`;
    throw new ManifestError(message, { path: containersPath, documentIndex, operation });
  }
  if (others.length > 0) {
    const message =
      options.container === undefined
        ? `${matches.length} containers (${names}); pass container to pick one`
        : `${matches.length} containers are named "${options.container}"`;
    throw new ManifestError(message, { path: containersPath, documentIndex, operation });
  }
  return replaceScalar(manifest, documentIndex, [...only.path, "image"], options.image, operation);
}
