import picomatch from "picomatch";
import { ManifestError } from "../manifest/manifest-error.js";
import { parseManifest } from "../manifest/parse-manifest.js";
import type { ConfigTree } from "./config-tree.js";
import { LocateError } from "./locate-error.js";
import { type AutoscalerDocument, scanDocuments, type WorkloadDocument } from "./scan-documents.js";
import { fillServicePath } from "./service-path.js";

/** Options of {@link locateWorkload}. */
export interface LocateWorkloadOptions {
  /** The service whose workload is wanted: a workload name, or the value of one of `labels`. */
  readonly service: string;
  /**
   * Path templates tried first, `{service}` replaced by the service, e.g.
   * `"overlays/prod/{service}-deployment.yaml"`. A template whose file does not exist is
   * skipped; a file that exists but holds no matching workload is an error.
   * @default []
   */
  readonly paths?: readonly string[];
  /**
   * picomatch globs searched when no path template matched, e.g. `["apps/**\/*.yaml"]`.
   * HPAs are looked for in these files as well as in the template files.
   * @default []
   */
  readonly globs?: readonly string[];
  /**
   * Label keys whose value may name the service, on `metadata.labels` or the pod template's.
   * @default ["app.kubernetes.io/name", "app"]
   */
  readonly labels?: readonly string[];
  /** Aborts between file reads. */
  readonly signal?: AbortSignal;
}

/** The HorizontalPodAutoscaler whose `scaleTargetRef` is the located workload. */
export interface AutoscalerLocation {
  readonly path: string;
  readonly documentIndex: number;
  readonly name: string;
  readonly minReplicas?: number;
  readonly maxReplicas: number;
}

/** A file searched by glob that does not parse, with the parser's reason. */
export interface SkippedFile {
  readonly path: string;
  readonly reason: string;
}

/** Where a service's workload is defined. */
export interface WorkloadLocation {
  /** File path in the tree. */
  readonly path: string;
  /** Zero-based document of a multi-document file. */
  readonly documentIndex: number;
  /** `Deployment`, `StatefulSet`, `DaemonSet` or `Rollout`. */
  readonly kind: string;
  /** `metadata.name`; may differ from the service when a label matched. */
  readonly name: string;
  /** `spec.replicas` when it is written in the file. */
  readonly replicas?: number;
  /** `spec.template.spec.containers`, in order. */
  readonly images: readonly { readonly container: string; readonly image: string }[];
  /** The HPA scaling the workload, when one is among the searched files. */
  readonly hpa?: AutoscalerLocation;
  /** Searched files that do not parse and were passed over. */
  readonly skipped: readonly SkippedFile[];
}

const defaultLabels: readonly string[] = ["app.kubernetes.io/name", "app"];

/**
 * Finds the one workload of `options.service` in `tree`: path templates first, then globs.
 * Never picks among several: zero or more than one match (or more than one HPA for it)
 * throws {@link LocateError} naming what was searched and every candidate.
 */
export async function locateWorkload(
  tree: ConfigTree,
  options: LocateWorkloadOptions,
): Promise<WorkloadLocation> {
  const { service, signal } = options;
  if (service.trim() === "") throw new LocateError("service must not be empty");
  const labelKeys = options.labels ?? defaultLabels;
  const templates = options.paths ?? [];
  const globs = options.globs ?? [];
  if (templates.length === 0 && globs.length === 0) {
    throw new LocateError(`nothing to search for service "${service}": pass paths or globs`);
  }
  const matchesService = (workload: WorkloadDocument): boolean =>
    workload.name === service ||
    labelKeys.some((key) => workload.labels.get(key)?.includes(service) === true);

  const all = await tree.list();
  const present = new Set(all);
  const templatePaths = [...new Set(templates.map((template) => fillServicePath(template, service)))];
  const isGlobbed = globs.length === 0 ? () => false : picomatch([...globs]);
  const globPaths = all.filter((path) => isGlobbed(path) && !templatePaths.includes(path));

  const autoscalers: AutoscalerDocument[] = [];
  const skipped: SkippedFile[] = [];
  let matches: WorkloadDocument[] = [];

  for (const path of templatePaths) {
    if (!present.has(path)) continue;
    signal?.throwIfAborted();
    const scanned = scanDocuments(path, parseTemplateFile(path, await tree.read(path)));
    autoscalers.push(...scanned.autoscalers);
    const found = scanned.workloads.filter(matchesService);
    if (found.length === 0) {
      const held = scanned.workloads.map(describe).join(", ") || "no workload";
      throw new LocateError(`no workload of service "${service}" in ${path}, which holds ${held}`);
    }
    matches.push(...found);
  }
  const globMatches: WorkloadDocument[] = [];
  for (const path of globPaths) {
    signal?.throwIfAborted();
    const text = await tree.read(path);
    let scanned: ReturnType<typeof scanDocuments>;
    try {
      scanned = scanDocuments(path, parseManifest(text, "locateWorkload"));
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      skipped.push({ path, reason: error.message });
      continue;
    }
    autoscalers.push(...scanned.autoscalers);
    globMatches.push(...scanned.workloads.filter(matchesService));
  }
  if (matches.length === 0) matches = globMatches;

  const [only, ...others] = matches;
  if (only === undefined) {
    const searched = [
      `path templates ${list(templates)}`,
      `globs ${list(globs)} (${globPaths.length} files)`,
      `label keys ${list(labelKeys)}`,
    ].join(", ");
    const unparsed =
      skipped.length === 0
        ? ""
        : `; files that do not parse: ${skipped.map((file) => `${file.path} (${file.reason})`).join("; ")}`;
    throw new LocateError(`no workload of service "${service}" found; searched ${searched}${unparsed}`);
  }
  if (others.length > 0) {
    throw new LocateError(
      `${matches.length} workloads match service "${service}": ${matches.map(describe).join(", ")}; narrow paths or globs so that one remains`,
    );
  }
  const hpa = autoscalerOf(only, autoscalers);
  return {
    path: only.path,
    documentIndex: only.documentIndex,
    kind: only.kind,
    name: only.name,
    ...(only.replicas === undefined ? {} : { replicas: only.replicas }),
    images: only.images.map((entry) => ({ ...entry })),
    ...(hpa === undefined ? {} : { hpa }),
    skipped,
  };
}

/** An explicit path was named on purpose, so a parse failure there is an error, not a skip. */
function parseTemplateFile(path: string, text: string): ReturnType<typeof parseManifest> {
  try {
    return parseManifest(text, "locateWorkload");
  } catch (error) {
    throw new LocateError(
      `${path} does not parse: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
}

function autoscalerOf(
  workload: WorkloadDocument,
  autoscalers: readonly AutoscalerDocument[],
): AutoscalerLocation | undefined {
  const targeting = autoscalers.filter(
    (autoscaler) => autoscaler.targetKind === workload.kind && autoscaler.targetName === workload.name,
  );
  const [only, ...others] = targeting;
  if (only === undefined) return undefined;
  const where = (autoscaler: AutoscalerDocument): string =>
    `${autoscaler.path}#${autoscaler.documentIndex} HorizontalPodAutoscaler/${autoscaler.name}`;
  if (others.length > 0) {
    throw new LocateError(
      `${targeting.length} HPAs scale ${describe(workload)}: ${targeting.map(where).join(", ")}; remove all but one`,
    );
  }
  if (only.maxReplicas === undefined) {
    throw new LocateError(`${where(only)} has no numeric spec.maxReplicas`);
  }
  return {
    path: only.path,
    documentIndex: only.documentIndex,
    name: only.name,
    ...(only.minReplicas === undefined ? {} : { minReplicas: only.minReplicas }),
    maxReplicas: only.maxReplicas,
  };
}

function describe(workload: WorkloadDocument): string {
  return `${workload.path}#${workload.documentIndex} ${workload.kind}/${workload.name}`;
}

function list(values: readonly string[]): string {
  return values.length === 0 ? "(none)" : values.map((value) => `"${value}"`).join(", ");
}
