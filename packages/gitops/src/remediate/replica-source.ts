import { isScalar } from "yaml";
import type { GitWorkspace } from "../git/git-workspace.js";
import type { AutoscalerLocation, WorkloadLocation } from "../locate/locate-workload.js";
import { ManifestError } from "../manifest/manifest-error.js";
import { lookup, parseDottedPath, parseManifest } from "../manifest/parse-manifest.js";
import { fillTargetPath, type ImageTarget } from "./image-target.js";

/**
 * Where the count of replicas the repository asks for is written, and what it says. One place
 * for the enricher (which reports it to the policy) and the remediator (which edits it), so the
 * policy's `current_replicas` is always the number a scale-up moves.
 */
export interface ReplicaSource {
  /** The file holding the count. */
  readonly file: string;
  /** Dotted path of the count in `file`: `spec.minReplicas`, `spec.replicas` or a Helm value. */
  readonly field: string;
  /** The count written there; `undefined` when it is not written (or not a whole number). */
  readonly value: number | undefined;
  /** The HPA that owns the replicas, when one targets the workload. */
  readonly hpa?: AutoscalerLocation;
}

/**
 * The {@link ReplicaSource} of a located workload: the HPA's `minReplicas` when an HPA targets
 * the workload (a count in git fights an HPA, and Kubernetes reads an absent `minReplicas` as 1),
 * else the Helm values path `image.replicas` of a `helm` target, else the workload's `spec.replicas`.
 */
export async function replicaSource(options: {
  readonly workspace: GitWorkspace;
  readonly head: string;
  readonly image: ImageTarget;
  readonly service: string;
  readonly location: WorkloadLocation;
}): Promise<ReplicaSource> {
  const { location, image } = options;
  if (location.hpa !== undefined) {
    return {
      file: location.hpa.path,
      field: "spec.minReplicas",
      value: location.hpa.minReplicas ?? 1,
      hpa: location.hpa,
    };
  }
  if (image.kind === "helm" && image.replicas !== undefined) {
    const file = fillTargetPath(image.file, options.service, location);
    const text = await options.workspace.readFile(options.head, file);
    return {
      file,
      field: image.replicas,
      value: text === undefined ? undefined : readCount(text, image.replicas),
    };
  }
  return { file: location.path, field: "spec.replicas", value: location.replicas };
}

/** The whole number at `dotted` in `text`; `undefined` when absent or not a whole number. */
function readCount(text: string, dotted: string): number | undefined {
  try {
    const path = parseDottedPath(dotted, "readReplicas");
    for (const document of parseManifest(text, "readReplicas").documents) {
      const found = lookup(document.contents, path);
      if (!found.found) continue;
      const value = isScalar(found.node) ? found.node.value : undefined;
      return typeof value === "number" && Number.isInteger(value) && value >= 0 ? value : undefined;
    }
  } catch (error) {
    if (!(error instanceof ManifestError)) throw error;
  }
  return undefined;
}
