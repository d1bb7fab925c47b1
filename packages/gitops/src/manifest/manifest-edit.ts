/** The outcome of one single-scalar edit of a YAML manifest. */
export interface ManifestEdit {
  /** The whole file after the edit; identical to the input when `changed` is false. */
  readonly text: string;
  /** Whether the value differed from the target (false: nothing was written). */
  readonly changed: boolean;
  /** The value found before the edit (booleans as strings, null as undefined). */
  readonly before: string | number | undefined;
  /** The value the path holds after the edit. */
  readonly after: string | number;
  /** The JSON-ish path edited, e.g. `spec.template.spec.containers[1].image`. */
  readonly path: string;
  /** Zero-based index of the edited document in a multi-document file. */
  readonly documentIndex: number;
}

/** Which workload to edit when a file holds several; omitted fields match anything. */
export interface WorkloadSelector {
  /** `Deployment`, `StatefulSet`, `DaemonSet` or `Rollout`. */
  readonly kind?: string;
  /** `metadata.name` of the workload. */
  readonly name?: string;
}
