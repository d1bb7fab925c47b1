import type { WorkloadSelector } from "./manifest-edit.js";
import { ManifestError } from "./manifest-error.js";
import { type ParsedManifest, stringAt } from "./parse-manifest.js";

/** A workload document found in a file. */
export interface FoundWorkload {
  readonly documentIndex: number;
  readonly kind: string;
  readonly name: string | undefined;
}

/**
 * The one document whose `kind` is among `kinds` and that matches `selector`.
 * Throws `ManifestError` when there is none, or more than one.
 */
export function findWorkload(
  manifest: ParsedManifest,
  kinds: readonly string[],
  selector: WorkloadSelector | undefined,
  operation: string,
): FoundWorkload {
  const workloads: FoundWorkload[] = [];
  for (const [documentIndex, document] of manifest.documents.entries()) {
    const kind = stringAt(document.contents, ["kind"]);
    if (kind === undefined || !kinds.includes(kind)) continue;
    workloads.push({ documentIndex, kind, name: stringAt(document.contents, ["metadata", "name"]) });
  }
  const matches = workloads.filter(
    (workload) =>
      (selector?.kind === undefined || selector.kind === workload.kind) &&
      (selector?.name === undefined || selector.name === workload.name),
  );
  const wanted = `${selector?.kind ?? kinds.join("/")}${selector?.name === undefined ? "" : ` named "${selector.name}"`}`;
  const [only, ...others] = matches;
  if (only === undefined) {
    const seen = workloads.length === 0 ? "no workload" : workloads.map(describeWorkload).join(", ");
    throw new ManifestError(`no ${wanted} found; the file holds ${seen}`, { operation });
  }
  if (others.length > 0) {
    throw new ManifestError(
      `${matches.length} workloads match ${wanted}: ${matches.map(describeWorkload).join(", ")}; pass workload.kind and workload.name to pick one`,
      { operation },
    );
  }
  return only;
}

function describeWorkload(workload: FoundWorkload): string {
  return `${workload.kind}/${workload.name ?? "(unnamed)"} (document ${workload.documentIndex})`;
}
