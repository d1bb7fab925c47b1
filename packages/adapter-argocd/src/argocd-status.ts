import type { Enricher, JsonValue } from "@selfheal/core";
import { historyNewestFirst } from "./argocd-application.js";
import { type ArgocdAppName, type ArgocdTarget, appNameFor, clientOf } from "./argocd-target.js";
import { dropUndefined } from "./sync-evidence.js";

/** Settings of {@link argocdStatus}, besides where Argo CD is. */
export interface ArgocdStatusOptions {
  /** The Argo CD application of an incident: a name, or a function of the incident. */
  readonly app: ArgocdAppName;
  /**
   * Name of the enricher, and the key of its facts in `input.facts`.
   * @default "argocd"
   */
  readonly name?: string;
  /**
   * How many deployed revisions of the history to report, newest first.
   * @default 5
   */
  readonly historyLimit?: number;
  /**
   * Most time the enricher may take, in milliseconds.
   * @default 5000
   */
  readonly timeoutMs?: number;
}

/**
 * An enricher reporting the application's Argo CD state as facts: sync and health status, the
 * revision compared against, the last operation, and the last deployed revisions (newest first),
 * so a policy can see what ran before. A failed read throws (the controller records and skips it).
 */
export function argocdStatus(settings: ArgocdTarget & ArgocdStatusOptions): Enricher {
  const client = clientOf(settings);
  const historyLimit = settings.historyLimit ?? 5;
  return {
    name: settings.name ?? "argocd",
    timeoutMs: settings.timeoutMs ?? 5000,
    async enrich({ incident, signal }) {
      const app = appNameFor(settings.app, incident);
      const found = await client.getApplication(app, { signal, retryForMs: 0 });
      const status = found.status;
      const operation = status?.operationState;
      const history = historyNewestFirst(found).slice(0, historyLimit);
      const facts: Record<string, JsonValue | undefined> = {
        app,
        sync_status: status?.sync?.status,
        revision: status?.sync?.revision,
        health_status: status?.health?.status,
        health_message: status?.health?.message,
        operation_phase: operation?.phase,
        operation_message: operation?.message,
        deployed: history.map((entry) =>
          dropUndefined({
            id: entry.id,
            revision: entry.revision ?? entry.revisions?.join(","),
            deployed_at: entry.deployedAt,
            automated: entry.initiatedBy?.automated,
          }),
        ),
      };
      return { facts: dropUndefined(facts) };
    },
  };
}
