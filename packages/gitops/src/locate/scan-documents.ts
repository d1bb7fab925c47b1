import { isMap, isScalar, isSeq } from "yaml";
import { lookup, type ParsedManifest, type PathSegment, stringAt } from "../manifest/parse-manifest.js";
import { podTemplateKinds } from "../manifest/set-container-image.js";

/** A workload document of a file, with what {@link locateWorkload} reports about it. */
export interface WorkloadDocument {
  readonly path: string;
  readonly documentIndex: number;
  readonly kind: string;
  readonly name: string;
  readonly replicas?: number;
  readonly images: readonly { readonly container: string; readonly image: string }[];
  /** Every `key=value` label of `metadata.labels` and `spec.template.metadata.labels`. */
  readonly labels: ReadonlyMap<string, readonly string[]>;
}

/** A HorizontalPodAutoscaler document of a file. */
export interface AutoscalerDocument {
  readonly path: string;
  readonly documentIndex: number;
  readonly name: string;
  readonly targetKind: string | undefined;
  readonly targetName: string | undefined;
  readonly minReplicas?: number;
  readonly maxReplicas: number | undefined;
}

/** The workloads and HPAs of one parsed file. */
export function scanDocuments(
  path: string,
  manifest: ParsedManifest,
): { workloads: WorkloadDocument[]; autoscalers: AutoscalerDocument[] } {
  const workloads: WorkloadDocument[] = [];
  const autoscalers: AutoscalerDocument[] = [];
  for (const [documentIndex, document] of manifest.documents.entries()) {
    const root = document.contents;
    const kind = stringAt(root, ["kind"]);
    const name = stringAt(root, ["metadata", "name"]) ?? "(unnamed)";
    if (kind === "HorizontalPodAutoscaler") {
      const minReplicas = numberAt(root, ["spec", "minReplicas"]);
      autoscalers.push({
        path,
        documentIndex,
        name,
        targetKind: stringAt(root, ["spec", "scaleTargetRef", "kind"]),
        targetName: stringAt(root, ["spec", "scaleTargetRef", "name"]),
        ...(minReplicas === undefined ? {} : { minReplicas }),
        maxReplicas: numberAt(root, ["spec", "maxReplicas"]),
      });
      continue;
    }
    if (kind === undefined || !podTemplateKinds.includes(kind)) continue;
    const replicas = numberAt(root, ["spec", "replicas"]);
    workloads.push({
      path,
      documentIndex,
      kind,
      name,
      ...(replicas === undefined ? {} : { replicas }),
      images: containerImages(root),
      labels: labelsOf(root),
    });
  }
  return { workloads, autoscalers };
}

function numberAt(node: unknown, path: readonly PathSegment[]): number | undefined {
  const found = lookup(node, path);
  if (!found.found || !isScalar(found.node)) return undefined;
  return typeof found.node.value === "number" ? found.node.value : undefined;
}

function containerImages(root: unknown): { container: string; image: string }[] {
  const found = lookup(root, ["spec", "template", "spec", "containers"]);
  if (!found.found || !isSeq(found.node)) return [];
  const images: { container: string; image: string }[] = [];
  for (const item of found.node.items) {
    const image = stringAt(item, ["image"]);
    if (image !== undefined) images.push({ container: stringAt(item, ["name"]) ?? "(unnamed)", image });
  }
  return images;
}

function labelsOf(root: unknown): Map<string, string[]> {
  const labels = new Map<string, string[]>();
  for (const path of [
    ["metadata", "labels"],
    ["spec", "template", "metadata", "labels"],
  ]) {
    const found = lookup(root, path);
    if (!found.found || !isMap(found.node)) continue;
    for (const pair of found.node.items) {
      if (!isScalar(pair.key) || !isScalar(pair.value)) continue;
      const key = String(pair.key.value);
      labels.set(key, [...(labels.get(key) ?? []), String(pair.value.value)]);
    }
  }
  return labels;
}
