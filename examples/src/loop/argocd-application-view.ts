// The Argo CD `v1alpha1Application` the sync agent answers, built from its state the way Argo CD
// serialises one: empty fields omitted, int64 as JSON numbers, times as RFC 3339 in seconds.

/** Who started an operation (`v1alpha1OperationInitiator`). */
export interface OperationInitiator {
  readonly username?: string;
  readonly automated?: boolean;
}

/** `status.operationState` of the agent's application. */
export interface AgentOperationState {
  readonly phase: "Running" | "Succeeded" | "Failed";
  readonly message: string;
  readonly startedAt: string;
  readonly finishedAt?: string;
  readonly revision: string;
  readonly initiatedBy: OperationInitiator;
}

/** One `status.history` entry: a successful sync. */
export interface AgentHistoryEntry {
  readonly id: number;
  readonly revision: string;
  readonly deployedAt: string;
  readonly deployStartedAt: string;
  readonly initiatedBy: OperationInitiator;
}

/** What the agent knows about its application. */
export interface AgentApplicationState {
  syncStatus: "Synced" | "OutOfSync" | "Unknown";
  /** The branch head last compared against. */
  revision: string | undefined;
  health: "Healthy" | "Progressing" | "Degraded" | "Missing" | "Unknown";
  healthMessage: string | undefined;
  healthSince: string;
  operationState: AgentOperationState | undefined;
  /** Oldest first, as Argo CD keeps it. */
  readonly history: AgentHistoryEntry[];
  reconciledAt: string | undefined;
  /** Why the last comparison failed (unreadable git or manifest). */
  comparisonError: { readonly message: string; readonly since: string } | undefined;
  /** The image running now. */
  deployedImage: string | undefined;
}

/** Where the application's manifests live and go. */
export interface AgentApplicationSpec {
  readonly name: string;
  readonly repoUrl: string;
  readonly branch: string;
  /** Folder of the manifest in the repository. */
  readonly path: string;
  /** Namespace the workload runs in. */
  readonly namespace: string;
  /** Name of the Deployment. */
  readonly workload: string;
}

/** Argo CD's time format: RFC 3339, whole seconds (`metav1.Time`). */
export function argocdTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The `v1alpha1Application` body; `operation` is set on the answer to a sync request. */
export function applicationBody(
  spec: AgentApplicationSpec,
  state: AgentApplicationState,
  operation?: { readonly revision?: string; readonly prune: boolean; readonly dryRun: boolean },
): unknown {
  const source = { repoURL: spec.repoUrl, path: spec.path, targetRevision: spec.branch };
  const destination = { server: "https://kubernetes.default.svc", namespace: spec.namespace };
  const op = state.operationState;
  const health = {
    status: state.health,
    ...(state.healthMessage === undefined ? {} : { message: state.healthMessage }),
    lastTransitionTime: state.healthSince,
  };
  return {
    metadata: { name: spec.name, namespace: "argocd" },
    spec: {
      project: "default",
      source,
      destination,
      syncPolicy: { automated: { enabled: true, prune: false, selfHeal: true } },
    },
    status: {
      sync: {
        status: state.syncStatus,
        ...(state.revision === undefined ? {} : { revision: state.revision }),
        comparedTo: { source, destination },
      },
      health,
      ...(op === undefined ? {} : { operationState: operationStateBody(op, source) }),
      ...(state.history.length === 0
        ? {}
        : { history: state.history.map((entry) => ({ ...entry, source })) }),
      resources: [
        {
          group: "apps",
          version: "v1",
          kind: "Deployment",
          namespace: spec.namespace,
          name: spec.workload,
          status: state.syncStatus,
          health: { status: state.health },
        },
      ],
      ...(state.deployedImage === undefined ? {} : { summary: { images: [state.deployedImage] } }),
      ...(state.comparisonError === undefined
        ? {}
        : {
            conditions: [
              {
                type: "ComparisonError",
                message: state.comparisonError.message,
                lastTransitionTime: state.comparisonError.since,
              },
            ],
          }),
      ...(state.reconciledAt === undefined ? {} : { reconciledAt: state.reconciledAt }),
      sourceType: "Directory",
    },
    ...(operation === undefined
      ? {}
      : {
          operation: {
            sync: {
              ...(operation.revision === undefined ? {} : { revision: operation.revision }),
              ...(operation.prune ? { prune: true } : {}),
              ...(operation.dryRun ? { dryRun: true } : {}),
            },
            initiatedBy: { username: "admin" },
          },
        }),
  };
}

function operationStateBody(op: AgentOperationState, source: object): object {
  return {
    operation: { sync: { revision: op.revision }, initiatedBy: op.initiatedBy },
    phase: op.phase,
    message: op.message,
    startedAt: op.startedAt,
    ...(op.finishedAt === undefined ? {} : { finishedAt: op.finishedAt }),
    ...(op.phase === "Running" ? {} : { syncResult: { revision: op.revision, source } }),
  };
}

/** A `runtimeError` body, as grpc-gateway writes it (`code` is the gRPC code). */
export function runtimeErrorBody(code: number, message: string): unknown {
  return { error: message, code, message, details: [] };
}
