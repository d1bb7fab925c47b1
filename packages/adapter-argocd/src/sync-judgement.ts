import type { ArgocdApplication, ArgocdOperationState } from "./argocd-application.js";

/** What the verifier waits for. */
export interface SyncExpectation {
  /** Our commit SHA; undefined when the remediation produced none (then any revision does). */
  readonly revision: string | undefined;
  /**
   * `startedAt` of the operation seen before we requested a sync: that operation is not ours,
   * even at our revision (an earlier attempt). Undefined when we requested no sync.
   */
  readonly previousOperationStartedAt?: string | undefined;
  /** True when we requested a sync (then an operation other than the previous one is ours). */
  readonly syncRequested: boolean;
}

/** One look at the application, judged. */
export type SyncJudgement =
  | { readonly verdict: "passed"; readonly reason: string }
  | { readonly verdict: "failed"; readonly reason: string }
  | { readonly verdict: "waiting"; readonly reason: string; readonly degraded: boolean };

/** Whether Argo CD's revision is ours: equal, or ours is an abbreviation of it. */
export function sameRevision(ours: string, theirs: string | undefined): boolean {
  if (theirs === undefined || theirs === "") return false;
  const a = ours.toLowerCase();
  const b = theirs.toLowerCase();
  return a === b || (/^[0-9a-f]{7,39}$/.test(a) && /^[0-9a-f]{40,64}$/.test(b) && b.startsWith(a));
}

function anyRevision(ours: string, candidates: readonly (string | undefined)[]): boolean {
  return candidates.some((candidate) => sameRevision(ours, candidate));
}

/** The revisions an operation requested or synced. */
export function operationRevisions(operation: ArgocdOperationState): (string | undefined)[] {
  return [
    operation.syncResult?.revision,
    ...(operation.syncResult?.revisions ?? []),
    operation.operation?.sync?.revision,
    ...(operation.operation?.sync?.revisions ?? []),
  ];
}

/**
 * Whether `status.operationState` describes an operation for our change. Right after a sync
 * call it still describes the previous operation (the controller fills it in when it picks
 * ours up), so an operation at another revision, a dry run, or the one seen before our call is
 * not ours.
 */
export function isOurOperation(
  operation: ArgocdOperationState | undefined,
  expectation: SyncExpectation,
): operation is ArgocdOperationState {
  if (operation === undefined || operation.operation?.sync?.dryRun === true) return false;
  if (
    expectation.previousOperationStartedAt !== undefined &&
    operation.startedAt === expectation.previousOperationStartedAt
  ) {
    return false;
  }
  if (expectation.revision === undefined) return expectation.syncRequested;
  return anyRevision(expectation.revision, operationRevisions(operation));
}

/** The failing resources of an operation, one line each. */
export function failingResources(operation: ArgocdOperationState): string[] {
  return (operation.syncResult?.resources ?? [])
    .filter(
      (resource) =>
        resource.status === "SyncFailed" || resource.hookPhase === "Failed" || resource.hookPhase === "Error",
    )
    .map((resource) => {
      const id = [resource.kind, resource.namespace, resource.name].filter(Boolean).join("/");
      return `${id || "resource"}: ${resource.message ?? resource.status ?? resource.hookPhase ?? "failed"}`;
    });
}

/**
 * Judge one look at the application: passed when it is `Synced` at our revision and `Healthy`
 * with none of our operations still running; failed when our sync operation failed; else
 * waiting (with `degraded` set when it is synced at our revision but `Degraded`, which the
 * caller tolerates for a grace period).
 */
export function judgeApplication(app: ArgocdApplication, expectation: SyncExpectation): SyncJudgement {
  const status = app.status;
  const operation = status?.operationState;
  const ours = isOurOperation(operation, expectation);
  const wanted = expectation.revision;
  if (ours && (operation.phase === "Failed" || operation.phase === "Error")) {
    const resources = failingResources(operation);
    return {
      verdict: "failed",
      reason:
        `sync of ${wanted ?? "the target revision"} ${operation.phase === "Error" ? "errored" : "failed"}: ` +
        `${operation.message ?? "no message"}` +
        (resources.length === 0 ? "" : `; failing resources: ${resources.join("; ")}`),
    };
  }
  const compared = status?.sync?.revision ?? status?.sync?.revisions?.join(",");
  if (
    wanted !== undefined &&
    !anyRevision(wanted, [status?.sync?.revision, ...(status?.sync?.revisions ?? [])])
  ) {
    return {
      verdict: "waiting",
      reason: `Argo CD compares against ${compared ?? "no revision yet"}, not ${wanted}`,
      degraded: false,
    };
  }
  const at = wanted ?? compared ?? "its target revision";
  const syncStatus = status?.sync?.status ?? "Unknown";
  if (syncStatus !== "Synced") {
    return { verdict: "waiting", reason: `${syncStatus} at ${at}`, degraded: false };
  }
  if (ours && (operation.phase === "Running" || operation.phase === "Terminating")) {
    return { verdict: "waiting", reason: `Synced at ${at}, operation ${operation.phase}`, degraded: false };
  }
  const health = status?.health?.status ?? "Unknown";
  if (health === "Healthy") return { verdict: "passed", reason: `Synced and Healthy at ${at}` };
  const message = status?.health?.message === undefined ? "" : ` (${status.health.message})`;
  return {
    verdict: "waiting",
    reason: `Synced at ${at}, health ${health}${message}`,
    degraded: health === "Degraded",
  };
}
