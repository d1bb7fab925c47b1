import { z } from "zod";

// Only the fields this package reads. Argo CD omits empty fields (`omitempty`), so on a fresh
// application every one of them may be missing.

/** One resource's result in a sync operation. */
export const ArgocdResourceResult = z.object({
  group: z.string().optional(),
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().optional(),
  /** `Synced`, `SyncFailed`, `Pruned`, `PruneSkipped`. */
  status: z.string().optional(),
  /** For hooks: `Running`, `Succeeded`, `Failed`, `Error`, `Terminating`. */
  hookPhase: z.string().optional(),
  message: z.string().optional(),
});
export type ArgocdResourceResult = z.infer<typeof ArgocdResourceResult>;

/** `status.operationState`: the last (or the running) operation the controller picked up. */
export const ArgocdOperationState = z.object({
  /** `Running`, `Terminating`, `Failed`, `Error`, `Succeeded`. */
  phase: z.string().optional(),
  /** Errors from the operation. */
  message: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  operation: z
    .object({
      sync: z
        .object({
          /** The revision requested. */
          revision: z.string().optional(),
          revisions: z.array(z.string()).optional(),
          dryRun: z.boolean().optional(),
        })
        .optional(),
    })
    .optional(),
  syncResult: z
    .object({
      /** The revision actually synced. */
      revision: z.string().optional(),
      revisions: z.array(z.string()).optional(),
      resources: z.array(ArgocdResourceResult).optional(),
    })
    .optional(),
});
export type ArgocdOperationState = z.infer<typeof ArgocdOperationState>;

/** One entry of `status.history`: a successful, complete, non-dry-run sync. */
export const ArgocdRevisionHistory = z.object({
  id: z.number().optional(),
  revision: z.string().optional(),
  /** Multi-source applications fill this and leave `revision` empty. */
  revisions: z.array(z.string()).optional(),
  deployedAt: z.string().optional(),
  initiatedBy: z.object({ automated: z.boolean().optional() }).optional(),
});
export type ArgocdRevisionHistory = z.infer<typeof ArgocdRevisionHistory>;

/** A `v1alpha1Application`, as far as this package reads it. */
export const ArgocdApplication = z.object({
  metadata: z.object({ name: z.string().optional() }).optional(),
  status: z
    .object({
      sync: z
        .object({
          /** `Synced`, `OutOfSync`, `Unknown`. */
          status: z.string().optional(),
          /** The revision the comparison was made against (a resolved commit SHA). */
          revision: z.string().optional(),
          revisions: z.array(z.string()).optional(),
        })
        .optional(),
      health: z
        .object({
          /** `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing`, `Unknown`. */
          status: z.string().optional(),
          message: z.string().optional(),
        })
        .optional(),
      operationState: ArgocdOperationState.optional(),
      /** Oldest first, as Argo CD stores it. */
      history: z.array(ArgocdRevisionHistory).optional(),
    })
    .optional(),
});
export type ArgocdApplication = z.infer<typeof ArgocdApplication>;

/** The application's deployed revisions, newest first (Argo CD keeps `status.history` oldest first). */
export function historyNewestFirst(app: ArgocdApplication): ArgocdRevisionHistory[] {
  return [...(app.status?.history ?? [])].reverse();
}

/** The `runtimeError` body of a failed call. */
export const ArgocdRuntimeError = z.object({
  error: z.string().optional(),
  code: z.number().optional(),
  message: z.string().optional(),
});
export type ArgocdRuntimeError = z.infer<typeof ArgocdRuntimeError>;
