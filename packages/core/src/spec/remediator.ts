import type { Redactor } from "../util/redact.js";
import type { CallOptions } from "./common.js";
import type { Decision, DecisionInput } from "./decision.js";
import type { Incident } from "./incident.js";
import type { RemediationPlan, RemediationResult, RemediationResultDraft } from "./remediation.js";

/**
 * What `apply` answers: the result without the fields the controller fills in (the idempotency
 * key, and when it started and finished).
 */
export type RemediationOutcome = Omit<RemediationResultDraft, "idempotencyKey" | "startedAt" | "finishedAt">;

/**
 * Carries out decisions: turns an action into a change (a commit, a change request).
 *
 * The controller calls `plan` (no writes anywhere), records the plan, records that the action
 * starts, calls `apply`, and records the result. If the controller dies after "starts" and
 * before the result, `apply` is called again with the same plan after restart: it must find
 * its earlier work by `plan.idempotencyKey` and return it instead of doing it twice.
 */
export interface Remediator {
  /** Name recorded in plans and the audit trail (`gitops`). */
  readonly name: string;
  /** Actions this remediator carries out (`["rollback", "scale_up"]`). */
  readonly actions: readonly string[];
  /**
   * Most time `apply` may take, in milliseconds.
   * @default 300000
   */
  readonly timeoutMs?: number;
  /**
   * Work out exactly what would change. Must not write anything anywhere. Throw a
   * `RemediationError` with `escalate` when the decision cannot be carried out safely
   * (no previous version, the workload found twice).
   */
  plan(options: PlanOptions): Promise<RemediationPlan>;
  /** Carry out a plan. Idempotent on `plan.idempotencyKey`. */
  apply(options: ApplyOptions): Promise<RemediationOutcome>;
  /**
   * Wait until a change request is merged and return the merged result. Only needed by
   * remediators that can answer `pending_merge`.
   */
  awaitMerge?(options: ApplyOptions & { readonly result: RemediationResult }): Promise<RemediationOutcome>;
}

/** What `plan` is called with. */
export interface PlanOptions extends CallOptions {
  readonly incident: Incident;
  readonly decision: Decision;
  /** Stable key for this incident and action; copy it into the plan. */
  readonly idempotencyKey: string;
  /** The facts the policy decided on (evidence for a change request), when the controller has them. */
  readonly input?: DecisionInput;
  /**
   * The controller's redactor (its configured secrets and the known credential shapes). Pass
   * every text the plan will write outside the controller through it: commit messages,
   * change-request titles and bodies. Absent outside a controller: use `createRedactor()`.
   */
  readonly redactor?: Redactor;
}

/** What `apply` is called with. */
export interface ApplyOptions extends CallOptions {
  readonly incident: Incident;
  readonly plan: RemediationPlan;
}
