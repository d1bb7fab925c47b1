import { BadInputError } from "@selfheal/core";
import { sleep } from "@selfheal/core/internal";
import {
  ArgocdApplication,
  type ArgocdApplication as ArgocdApplicationType,
  type ArgocdRevisionHistory,
  historyNewestFirst,
} from "./argocd-application.js";
import { ArgocdError } from "./argocd-error.js";
import { type ArgocdConnection, type ArgocdTransport, argocdTransport } from "./argocd-transport.js";

/** Settings of {@link argocdClient}. */
export interface ArgocdClientSettings extends ArgocdConnection {
  /**
   * Project of the applications. Sent with every call so that a missing application answers
   * 404 rather than 403 (which is what Argo CD answers without it).
   * @default none
   */
  readonly project?: string;
  /**
   * Namespace of the applications, when they live outside Argo CD's own namespace.
   * @default none (Argo CD's namespace)
   */
  readonly appNamespace?: string;
  /**
   * How long one call keeps retrying retryable failures ("another operation is already in
   * progress", 5xx, connection errors, timeouts), in milliseconds. 0 tries once.
   * @default 30000
   */
  readonly retryForMs?: number;
  /**
   * First wait between retries, doubled after each, up to `maxRetryDelayMs`.
   * @default 250
   */
  readonly retryDelayMs?: number;
  /**
   * Longest wait between retries.
   * @default 5000
   */
  readonly maxRetryDelayMs?: number;
  /**
   * Time limit of a refreshing GET, which Argo CD holds open until the controller has
   * reconciled the application.
   * @default 60000
   */
  readonly refreshTimeoutMs?: number;
}

/** Options of every client call. */
export interface ArgocdCallOptions {
  /** Abort the call (and its retries). */
  readonly signal?: AbortSignal;
  /**
   * Overrides the client's `retryForMs` for this call.
   * @default the client's `retryForMs`
   */
  readonly retryForMs?: number;
}

/** Options of {@link ArgocdClient.sync}. */
export interface ArgocdSyncCallOptions extends ArgocdCallOptions {
  /** Revision (commit SHA) to sync to. @default the application's target revision */
  readonly revision?: string;
  /**
   * Delete resources no longer in git.
   * @default false
   */
  readonly prune?: boolean;
  /**
   * Only compute what would change.
   * @default false
   */
  readonly dryRun?: boolean;
}

/** A small Argo CD API client: the calls selfheal needs, validated, retried, with clear errors. */
export interface ArgocdClient {
  /** The API base URL, credentials redacted. */
  readonly url: string;
  /**
   * Read an application. With `refresh`, Argo CD first reconciles it (`hard` also drops its
   * manifest cache) and answers once that is done, so the call may take seconds.
   */
  getApplication(
    name: string,
    options?: ArgocdCallOptions & { readonly refresh?: "normal" | "hard" },
  ): Promise<ArgocdApplicationType>;
  /** Ask Argo CD to look at git now instead of at its next poll (every 3 minutes by default). */
  refresh(
    name: string,
    options?: ArgocdCallOptions & { readonly hard?: boolean },
  ): Promise<ArgocdApplicationType>;
  /**
   * Start a sync. Answers the application with the operation requested; whether it ran is seen
   * later in `status.operationState`. Retries "another operation is already in progress".
   */
  sync(name: string, options?: ArgocdSyncCallOptions): Promise<ArgocdApplicationType>;
  /** The deployment history, newest first (Argo CD stores it oldest first). */
  history(name: string, options?: ArgocdCallOptions): Promise<readonly ArgocdRevisionHistory[]>;
  /** Close the connections the client opened itself. */
  close(): Promise<void>;
}

/** A client for the Argo CD REST API (`/api/v1/applications/...`). */
export function argocdClient(settings: ArgocdClientSettings): ArgocdClient {
  const transport = argocdTransport(settings);
  const retryForMs = nonNegative(settings.retryForMs ?? 30_000, "retryForMs");
  const retryDelayMs = nonNegative(settings.retryDelayMs ?? 250, "retryDelayMs");
  const maxRetryDelayMs = nonNegative(settings.maxRetryDelayMs ?? 5000, "maxRetryDelayMs");
  const refreshTimeoutMs = nonNegative(settings.refreshTimeoutMs ?? 60_000, "refreshTimeoutMs");
  const scope: Record<string, string> = {};
  if (settings.project !== undefined) scope.projects = settings.project;
  if (settings.appNamespace !== undefined) scope.appNamespace = settings.appNamespace;

  const retrying = <T>(options: ArgocdCallOptions, attempt: () => Promise<T>) =>
    withRetry(attempt, {
      forMs: options.retryForMs ?? retryForMs,
      delayMs: retryDelayMs,
      maxDelayMs: maxRetryDelayMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });

  const getApplication: ArgocdClient["getApplication"] = (name, options = {}) =>
    retrying(options, async () =>
      parseApplication(
        transport,
        "getApplication",
        await transport.send({
          method: "GET",
          path: appPath(name),
          query: options.refresh === undefined ? scope : { ...scope, refresh: options.refresh },
          operation: "getApplication",
          app: name,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          ...(options.refresh === undefined ? {} : { timeoutMs: refreshTimeoutMs }),
        }),
      ),
    );

  return {
    url: transport.safeUrl,
    getApplication,
    refresh: (name, options = {}) =>
      getApplication(name, { ...options, refresh: options.hard === true ? "hard" : "normal" }),
    sync: (name, options = {}) =>
      retrying(options, async () =>
        parseApplication(
          transport,
          "sync",
          await transport.send({
            method: "POST",
            path: `${appPath(name)}/sync`,
            body: {
              ...(options.revision === undefined ? {} : { revision: options.revision }),
              prune: options.prune ?? false,
              dryRun: options.dryRun ?? false,
              ...(settings.project === undefined ? {} : { project: settings.project }),
              ...(settings.appNamespace === undefined ? {} : { appNamespace: settings.appNamespace }),
            },
            operation: "sync",
            app: name,
            ...(options.signal === undefined ? {} : { signal: options.signal }),
          }),
        ),
      ),
    history: async (name, options = {}) => {
      const app = await getApplication(name, options);
      return historyNewestFirst(app);
    },
    close: () => transport.close(),
  };
}

function appPath(name: string): string {
  if (name === "") throw new BadInputError("argocd: application name is empty", { adapter: "argocd" });
  return `/api/v1/applications/${encodeURIComponent(name)}`;
}

function parseApplication(transport: ArgocdTransport, operation: string, body: unknown) {
  const parsed = ArgocdApplication.safeParse(body);
  if (parsed.success) return parsed.data;
  throw new ArgocdError(
    `Argo CD ${operation}: the answer is not an Application: ${parsed.error.issues[0]?.message ?? "invalid"}`,
    { operation, url: transport.safeUrl, status: 200, kind: "bad_response", cause: parsed.error },
  );
}

function nonNegative(value: number, name: string): number {
  if (Number.isFinite(value) && value >= 0) return value;
  throw new BadInputError(`argocd: ${name} must be a number ≥ 0`, { adapter: "argocd" });
}

/**
 * Run `attempt` until it succeeds, fails for good, or `forMs` would pass before the next try;
 * waits double from `delayMs` up to `maxDelayMs`. The last error is thrown as is.
 */
async function withRetry<T>(
  attempt: () => Promise<T>,
  policy: { forMs: number; delayMs: number; maxDelayMs: number; signal?: AbortSignal },
): Promise<T> {
  const deadline = Date.now() + policy.forMs;
  let delay = policy.delayMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      const retryable = error instanceof ArgocdError && error.retryable;
      if (!retryable || Date.now() + delay > deadline) throw error;
    }
    await sleep(delay, policy.signal);
    delay = Math.min(delay * 2, policy.maxDelayMs);
  }
}
