import type { JsonObject } from "../spec/common.js";
import type { PlannedChange, RemediationPlan } from "../spec/remediation.js";
import type { PlanOptions } from "../spec/remediator.js";
import type { VerificationResult } from "../spec/verification.js";

/** What a remediator decides in `plan`; {@link definePlan} fills in the rest from the call. */
export type PlanDraft = {
  /** The remediator's name (recorded in the plan and the audit trail). */
  readonly remediator: string;
  /** One paragraph for people: what will change and why. */
  readonly summary: string;
  /** The action's parameters as resolved by the remediator; the decision's params by default. */
  readonly params?: JsonObject;
  /** Adapter specifics, under a key named after the adapter. */
  readonly details?: JsonObject;
} & (
  | {
      /** The target already holds the wanted state: recorded as `no_action`, `apply` is never called. */
      readonly noop: true;
      readonly changes?: readonly [];
    }
  | {
      readonly noop?: false;
      /**
       * What will change, one entry per target. Empty for an API-only action (a restart):
       * `apply` is called all the same.
       */
      readonly changes: readonly PlannedChange[];
    }
);

/**
 * Builds a `RemediationPlan` from the options `plan` was called with: the idempotency key,
 * incident id, service and action are copied from the call, so a remediator cannot get them
 * wrong.
 *
 * @example
 * ```ts
 * import { definePlan, type Remediator } from "@selfheal/core";
 * const restart: Pick<Remediator, "plan"> = {
 *   plan: async (options) =>
 *     definePlan(options, { remediator: "restart", summary: `restart ${options.incident.service}`, changes: [] }),
 * };
 * ```
 */
export function definePlan(options: PlanOptions, draft: PlanDraft): RemediationPlan {
  const { incident, decision, idempotencyKey } = options;
  return {
    idempotencyKey,
    incidentId: incident.id,
    service: incident.service,
    action: decision.action,
    params: draft.params ?? decision.params,
    remediator: draft.remediator,
    summary: draft.summary,
    changes: [...(draft.changes ?? [])],
    ...(draft.noop === true ? { noop: true } : {}),
    ...(draft.details === undefined ? {} : { details: draft.details }),
  };
}

/**
 * A verifier's verdict, stamped now.
 *
 * @example
 * ```ts
 * import { verdict } from "@selfheal/core";
 * const answer = verdict("http-probe", "passed", "GET /healthz answered 200 three times", { status: 200 });
 * ```
 */
export function verdict(
  verifier: string,
  outcome: VerificationResult["outcome"],
  reason: string,
  evidence?: JsonObject,
): VerificationResult {
  return {
    verifier,
    outcome,
    reason,
    observedAt: new Date().toISOString(),
    ...(evidence === undefined ? {} : { evidence }),
  };
}
