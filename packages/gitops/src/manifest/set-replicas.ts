import { findWorkload } from "./find-workload.js";
import type { ManifestEdit, WorkloadSelector } from "./manifest-edit.js";
import { ManifestError } from "./manifest-error.js";
import { parseManifest } from "./parse-manifest.js";
import { replaceScalar } from "./replace-scalar.js";

/** Options of {@link setReplicas}. */
export interface SetReplicasOptions {
  /** The new replica count, a whole number ≥ 0. */
  readonly replicas: number;
  /**
   * Which workload to edit in a multi-document file.
   * @default the only Deployment, StatefulSet or Rollout in the file
   */
  readonly workload?: WorkloadSelector;
}

/** Workload kinds with `spec.replicas` (a DaemonSet has none). */
const scalableKinds: readonly string[] = ["Deployment", "StatefulSet", "Rollout"];

const operation = "setReplicas";

/**
 * Sets `spec.replicas` of a Deployment, StatefulSet or Argo Rollout, changing no other byte
 * of `text`. The field must already be present: adding it would not be a one-scalar edit.
 */
export function setReplicas(text: string, options: SetReplicasOptions): ManifestEdit {
  if (!Number.isInteger(options.replicas) || options.replicas < 0) {
    throw new ManifestError(`replicas must be a whole number ≥ 0, not ${options.replicas}`, { operation });
  }
  const manifest = parseManifest(text, operation);
  const { documentIndex } = findWorkload(manifest, scalableKinds, options.workload, operation);
  return replaceScalar(manifest, documentIndex, ["spec", "replicas"], options.replicas, operation);
}
