import type { JsonObject, JsonValue } from "@selfheal/core";
import type { ArgocdApplication } from "./argocd-application.js";
import { isOurOperation, type SyncExpectation } from "./sync-judgement.js";

/** What the verifier noted on the way, for the evidence of its verdict. */
export interface SyncTrace {
  readonly app: string;
  readonly url: string;
  readonly startedAt: number;
  polls: number;
  refreshMs?: number;
  syncAcceptedMs?: number;
  syncAttempts: number;
  atRevisionMs?: number;
  degradedSinceMs?: number | undefined;
  /** The last few problems met (failed polls, refused syncs), newest last. */
  readonly problems: string[];
  last?: ArgocdApplication;
}

/** Keep the last few problems only: a long wait must not grow the audit record without bound. */
export function noteProblem(trace: SyncTrace, problem: string): void {
  trace.problems.push(problem);
  if (trace.problems.length > 5) trace.problems.shift();
}

/** Evidence for a verdict: revision, sync and health status, operation phase, timings. */
export function syncEvidence(trace: SyncTrace, expectation: SyncExpectation): JsonObject {
  const status = trace.last?.status;
  const operation = status?.operationState;
  const argocd: Record<string, JsonValue | undefined> = {
    app: trace.app,
    url: trace.url,
    revision: expectation.revision ?? null,
    seen: trace.last === undefined ? false : undefined,
    syncStatus: status?.sync?.status,
    syncRevision: status?.sync?.revision,
    health: status?.health?.status,
    healthMessage: status?.health?.message,
    operation:
      operation === undefined
        ? undefined
        : dropUndefined({
            phase: operation.phase,
            message: operation.message,
            revision: operation.syncResult?.revision ?? operation.operation?.sync?.revision,
            startedAt: operation.startedAt,
            finishedAt: operation.finishedAt,
            ours: isOurOperation(operation, expectation),
          }),
    syncRequested: expectation.syncRequested,
    syncAttempts: trace.syncAttempts,
    polls: trace.polls,
    timings: dropUndefined({
      elapsedMs: Date.now() - trace.startedAt,
      refreshMs: trace.refreshMs,
      syncAcceptedMs: trace.syncAcceptedMs,
      atRevisionMs: trace.atRevisionMs,
      degradedSinceMs: trace.degradedSinceMs,
    }),
    problems: trace.problems.length === 0 ? undefined : [...trace.problems],
  };
  return { argocd: dropUndefined(argocd) };
}

/** The record without its `undefined` entries, as JSON. */
export function dropUndefined(record: Record<string, JsonValue | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(record)) if (value !== undefined) out[key] = value;
  return out;
}
