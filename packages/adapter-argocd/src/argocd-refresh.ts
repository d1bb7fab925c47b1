import { describeError } from "@selfheal/core";
import { ArgocdError } from "./argocd-error.js";
import { type ArgocdTarget, clientOf } from "./argocd-target.js";

/** Options of one refresh. */
export interface ArgocdRefreshOptions {
  /**
   * Also drop Argo CD's manifest cache (needed when a Helm chart or plugin output changed
   * without a new commit).
   * @default false
   */
  readonly hard?: boolean;
  /** Abort the refresh. */
  readonly signal?: AbortSignal;
}

/** What a refresh did. It never throws for Argo CD's sake: a push must not fail because of it. */
export interface ArgocdRefreshResult {
  /** The application refreshed. */
  readonly app: string;
  /** True when Argo CD answered that it reconciled the application. */
  readonly refreshed: boolean;
  /** What Argo CD now compares against (the resolved commit SHA), when it answered. */
  readonly revision?: string;
  /** `Synced`, `OutOfSync` or `Unknown`, when it answered. */
  readonly syncStatus?: string;
  /** How long the refresh took (or was waited for). */
  readonly durationMs: number;
  /** Why the refresh did not happen (for the log); undefined when it did. */
  readonly error?: ArgocdError;
}

/** Settings of {@link argocdRefresh}, besides where Argo CD is. */
export interface ArgocdRefreshSettings {
  /**
   * Most time one refresh may take, in milliseconds. Argo CD answers a refresh only once the
   * controller reconciled the application; the refresh goes on server-side if we stop waiting.
   * @default 15000
   */
  readonly timeoutMs?: number;
}

/** The hook: `refresh(app, { hard })`, to call after every push. */
export interface ArgocdRefresher {
  /** Ask Argo CD to reconcile `app` now instead of at its next poll (every 3 minutes by default). */
  refresh(app: string, options?: ArgocdRefreshOptions): Promise<ArgocdRefreshResult>;
}

/**
 * A refresh hook for the GitOps remediator: after a push, Argo CD looks at git at once. Best
 * effort: failures are returned in `error`, never thrown (only the caller's abort is).
 */
export function argocdRefresh(settings: ArgocdTarget & ArgocdRefreshSettings): ArgocdRefresher {
  const client = clientOf(settings);
  const timeoutMs = settings.timeoutMs ?? 15_000;
  return {
    refresh: async (app, options = {}) => {
      const started = Date.now();
      const limit = AbortSignal.timeout(timeoutMs);
      const signal = options.signal === undefined ? limit : AbortSignal.any([options.signal, limit]);
      try {
        const answer = await client.refresh(app, { hard: options.hard ?? false, signal, retryForMs: 0 });
        const revision = answer.status?.sync?.revision;
        const syncStatus = answer.status?.sync?.status;
        return {
          app,
          refreshed: true,
          durationMs: Date.now() - started,
          ...(revision === undefined ? {} : { revision }),
          ...(syncStatus === undefined ? {} : { syncStatus }),
        };
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (!(error instanceof ArgocdError) && !limit.aborted) throw error;
        return { app, refreshed: false, durationMs: Date.now() - started, error: asArgocdError(error, app) };
      }
    },
  };
}

function asArgocdError(error: unknown, app: string): ArgocdError {
  if (error instanceof ArgocdError) return error;
  // Our own time limit ended the call (the transport passes the signal's reason on).
  return new ArgocdError(
    `Argo CD refresh of ${JSON.stringify(app)} did not finish in time: ${describeError(error)}`,
    {
      operation: "refresh",
      kind: "timeout",
      cause: error,
    },
  );
}
