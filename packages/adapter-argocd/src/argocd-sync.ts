import {
  BadInputError,
  describeError,
  SelfHealError,
  type VerificationResult,
  type Verifier,
} from "@selfheal/core";
import { sleep, timeLimitedSignal, withSignalTimeLimit } from "@selfheal/core/internal";
import type { ArgocdApplication } from "./argocd-application.js";
import type { ArgocdClient } from "./argocd-client.js";
import { type ArgocdAppName, type ArgocdTarget, appNameFor, clientOf } from "./argocd-target.js";
import { noteProblem, type SyncTrace, syncEvidence } from "./sync-evidence.js";
import { judgeApplication, type SyncExpectation, sameRevision } from "./sync-judgement.js";

/** Settings of {@link argocdSync}, besides where Argo CD is. */
export interface ArgocdSyncOptions {
  /** The Argo CD application to watch: a name, or a function of the incident (`(i) => i.service`). */
  readonly app: ArgocdAppName;
  /**
   * Name recorded in the audit trail.
   * @default "argocd-sync"
   */
  readonly name?: string;
  /**
   * Also start a sync to our revision (for applications without auto-sync). Without it, the
   * verifier only asks for a refresh and waits for auto-sync.
   * @default false
   */
  readonly sync?: boolean;
  /**
   * With `sync`: delete resources no longer in git.
   * @default false
   */
  readonly prune?: boolean;
  /**
   * Refresh asked for first: `normal`, `hard` (also drops Argo CD's manifest cache), or `false`.
   * @default "normal"
   */
  readonly refresh?: "normal" | "hard" | false;
  /**
   * Longest wait for the refresh's answer, in milliseconds, before polling without it.
   * @default 15000
   */
  readonly refreshWaitMs?: number;
  /**
   * Time between two reads of the application, in milliseconds.
   * @default 1000
   */
  readonly pollIntervalMs?: number;
  /**
   * How long the application may stay `Degraded` while synced at our revision before the
   * verification fails, in milliseconds (a rollout is often briefly Degraded).
   * @default 30000
   */
  readonly degradedGraceMs?: number;
  /**
   * Most time the verification may take, in milliseconds. The verifier answers "failed, with
   * what it saw" a little before (10%, at most 2 s), so its verdict beats the controller's timeout.
   * @default 600000
   */
  readonly timeoutMs?: number;
}

/** Settings of {@link argocdSync}. */
export type ArgocdSyncSettings = ArgocdTarget & ArgocdSyncOptions;

/**
 * A `sync` verifier: after a remediation, asks Argo CD to refresh (and with `sync`, to sync to
 * the remediation's revision), then polls until the application is `Synced` at exactly that
 * revision and `Healthy`. Fails on a failed sync operation for that revision, on `Degraded`
 * past a grace period, on 401/403/404, and at its deadline, always with what it saw.
 */
export function argocdSync(settings: ArgocdSyncSettings): Verifier {
  const client = clientOf(settings);
  const name = settings.name ?? "argocd-sync";
  const timeoutMs = positive(settings.timeoutMs ?? 600_000, "timeoutMs");
  const pollIntervalMs = positive(settings.pollIntervalMs ?? 1000, "pollIntervalMs");
  const degradedGraceMs = settings.degradedGraceMs ?? 30_000;
  if (!(Number.isFinite(degradedGraceMs) && degradedGraceMs >= 0)) {
    throw new BadInputError("argocd sync verifier: degradedGraceMs must be a number ≥ 0", {
      adapter: "argocd",
    });
  }
  const waitMs = timeoutMs - Math.min(2000, timeoutMs / 10);
  const refresh = settings.refresh ?? "normal";
  const refreshWaitMs = positive(settings.refreshWaitMs ?? 15_000, "refreshWaitMs");

  return {
    name,
    stage: "sync",
    timeoutMs,
    async verify({ incident, result, signal }) {
      const app = appNameFor(settings.app, incident);
      const startedAt = Date.now();
      const deadline = startedAt + waitMs;
      const trace: SyncTrace = { app, url: client.url, startedAt, polls: 0, syncAttempts: 0, problems: [] };
      let expectation: SyncExpectation = { revision: result.revision, syncRequested: false };
      const verdict = (outcome: VerificationResult["outcome"], reason: string): VerificationResult => ({
        verifier: name,
        outcome,
        reason: `${app}: ${reason}`,
        observedAt: new Date().toISOString(),
        evidence: syncEvidence(trace, expectation),
      });
      // Bounds one request by the verification deadline as well as the caller's signal.
      const bounded = () => timeLimitedSignal(signal, Math.max(1, deadline - Date.now()));

      /** One read; a fatal error ends the verification, a transient one is noted and waited out. */
      const read = async (
        call: (requestSignal: AbortSignal) => Promise<ArgocdApplication>,
      ): Promise<ArgocdApplication | VerificationResult | undefined> => {
        const limited = bounded();
        const requestSignal = limited.signal;
        try {
          const seen = await call(requestSignal);
          trace.polls++;
          trace.last = seen;
          return seen;
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          if (fatal(error)) return verdict("failed", `Argo CD refused: ${describeError(error)}`);
          // A poll cut short by our own deadline says less than the answer before it (a 503, say):
          // noted only when it is all there is, so the verdict names the real problem.
          if (!(requestSignal.aborted && trace.problems.length > 0)) noteProblem(trace, describeError(error));
          return undefined;
        } finally {
          limited.done();
        }
      };

      let seen: ArgocdApplication | VerificationResult | undefined;
      let waitingReason = "nothing seen yet";
      let nextSyncAt = 0;
      let syncDelayMs = 250;
      let syncAccepted = false;
      if (refresh !== false) {
        // Argo CD answers a refresh only once its controller reconciled the app; if that takes
        // long, stop waiting and poll (the refresh still happens server-side).
        seen = await read((s) =>
          withSignalTimeLimit(s, refreshWaitMs, (waited) =>
            client.getApplication(app, { refresh, signal: waited, retryForMs: 0 }),
          ),
        );
        if (seen !== undefined && !isVerdict(seen)) trace.refreshMs = Date.now() - startedAt;
      }
      for (;;) {
        if (seen === undefined && Date.now() < deadline) {
          seen = await read((s) => client.getApplication(app, { signal: s, retryForMs: 0 }));
        }
        if (isVerdict(seen)) return seen;
        if (seen !== undefined) {
          if (settings.sync === true && !expectation.syncRequested) {
            // The operation seen before our first sync call is not ours, whatever its revision.
            expectation = {
              ...expectation,
              syncRequested: true,
              previousOperationStartedAt: seen.status?.operationState?.startedAt,
            };
          }
          const judgement = judgeApplication(seen, expectation);
          if (judgement.verdict !== "waiting") return verdict(judgement.verdict, judgement.reason);
          waitingReason = judgement.reason;
          noteTimings(trace, seen, expectation, judgement.degraded);
          if (
            trace.degradedSinceMs !== undefined &&
            Date.now() - startedAt - trace.degradedSinceMs >= degradedGraceMs
          ) {
            return verdict("failed", `${judgement.reason} for more than ${degradedGraceMs} ms`);
          }
          if (settings.sync === true && !syncAccepted && Date.now() >= nextSyncAt && Date.now() < deadline) {
            const refused = await withSignalTimeLimit(signal, Math.max(1, deadline - Date.now()), (bound) =>
              requestSync(client, app, expectation.revision, settings.prune ?? false, trace, bound),
            );
            if (refused === undefined) syncAccepted = true;
            else if (signal.aborted) throw signal.reason;
            else if (fatal(refused)) return verdict("failed", `sync refused: ${describeError(refused)}`);
            else {
              // "another operation is already in progress" and outages: back off, keep watching.
              noteProblem(trace, describeError(refused));
              nextSyncAt = Date.now() + syncDelayMs;
              syncDelayMs = Math.min(syncDelayMs * 2, 5000);
            }
          }
        }
        if (Date.now() >= deadline) {
          const lastProblem = trace.problems.at(-1);
          const lastSeen =
            trace.last === undefined && lastProblem !== undefined
              ? `nothing (last problem: ${lastProblem})`
              : waitingReason;
          return verdict(
            "failed",
            `not Synced and Healthy at ${expectation.revision ?? "the target revision"} within ${waitMs} ms; last seen: ${lastSeen}`,
          );
        }
        await sleep(Math.min(pollIntervalMs, Math.max(0, deadline - Date.now())), signal);
        seen = undefined;
      }
    },
  };
}

/** Start a sync; undefined when Argo CD accepted it, else the error. */
async function requestSync(
  client: ArgocdClient,
  app: string,
  revision: string | undefined,
  prune: boolean,
  trace: SyncTrace,
  signal: AbortSignal,
): Promise<unknown> {
  trace.syncAttempts++;
  try {
    await client.sync(app, { ...(revision === undefined ? {} : { revision }), prune, signal, retryForMs: 0 });
    trace.syncAcceptedMs = Date.now() - trace.startedAt;
    return undefined;
  } catch (error) {
    return error;
  }
}

function noteTimings(
  trace: SyncTrace,
  app: ArgocdApplication,
  expectation: SyncExpectation,
  degraded: boolean,
) {
  const elapsed = Date.now() - trace.startedAt;
  const revision = app.status?.sync?.revision;
  if (
    trace.atRevisionMs === undefined &&
    expectation.revision !== undefined &&
    sameRevision(expectation.revision, revision)
  ) {
    trace.atRevisionMs = elapsed;
  }
  trace.degradedSinceMs = degraded ? (trace.degradedSinceMs ?? elapsed) : undefined;
}

/**
 * Errors that waiting cannot cure: credentials, permissions, a missing app, bad TLS, a bad
 * answer. A request cut short by the verification deadline is not one of them.
 */
function fatal(error: unknown): boolean {
  return SelfHealError.isInstance(error) && !error.retryable;
}

function isVerdict(value: ArgocdApplication | VerificationResult | undefined): value is VerificationResult {
  return value !== undefined && "verifier" in value;
}

function positive(value: number, name: string): number {
  if (Number.isFinite(value) && value > 0) return value;
  throw new BadInputError(`argocd sync verifier: ${name} must be a positive number`, { adapter: "argocd" });
}
