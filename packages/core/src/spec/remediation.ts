import { z } from "zod";
import { ActionName, JsonObject, Timestamp } from "./common.js";

/** One change a plan makes, in terms a reviewer understands. */
export const PlannedChange = z.object({
  /** What is changed: a file path in the config repo, a resource name. */
  target: z.string().min(1),
  /** One line: `image registry/checkout:v1.2.0 → v1.1.0`. */
  description: z.string(),
  /** The exact unified diff, when the change is a file edit. */
  diff: z.string().optional(),
});
export type PlannedChange = z.infer<typeof PlannedChange>;

/**
 * Exactly what a remediator would do for a decision, worked out without writing anything.
 * Recorded before the action; in dry run it is all that happens.
 */
export const RemediationPlan = z.object({
  /**
   * Stable per incident and action: the same incident and action always get the same key,
   * across retries and restarts, so the remediator finds its own earlier work by it
   * (deterministic branch name, change request looked up by branch, commit trailers).
   */
  idempotencyKey: z.string().min(1),
  /** The incident the plan is for. */
  incidentId: z.string().min(1),
  /** The service changed. */
  service: z.string().min(1),
  /** The action carried out. */
  action: ActionName,
  /** The action's parameters, as resolved by the remediator (the actual rollback target). */
  params: JsonObject,
  /** Name of the remediator that made the plan. */
  remediator: z.string().min(1),
  /** One paragraph for people: what will change and why. */
  summary: z.string(),
  /**
   * The changes, one per target, for reviewers and the audit trail. May be empty for an action
   * that changes no file or resource a reviewer would diff (an API call: restart, cache flush):
   * `apply` is still called. To say that there is nothing to do, set `noop`.
   */
  changes: z.array(PlannedChange),
  /**
   * True when the target already holds the wanted state: the controller records the plan,
   * closes the incident as `no_action` and never calls `apply`. `changes` must then be empty.
   * Absent or false: `apply` is called, whether `changes` lists anything or not.
   */
  noop: z.boolean().optional(),
  /** Adapter specifics, under a key named after the adapter. */
  details: JsonObject.optional(),
});
export type RemediationPlan = z.infer<typeof RemediationPlan>;

/**
 * Why a plan cannot be acted on as it stands, or `undefined` when it can: a plan that says
 * `noop` and lists changes contradicts itself.
 */
export function planContradiction(plan: Pick<RemediationPlan, "noop" | "changes">): string | undefined {
  return plan.noop === true && plan.changes.length > 0
    ? `the plan says noop (nothing to do) but lists ${plan.changes.length} change(s)`
    : undefined;
}

/** What carrying out a plan did. */
export const RemediationResult = z.object({
  /** The plan's idempotency key. */
  idempotencyKey: z.string().min(1),
  /**
   * `applied`: the change is in (committed to the target branch, or applied);
   * `pending_merge`: a change request waits for review or auto-merge;
   * `noop`: nothing needed changing (the target already held the wanted state).
   */
  status: z.enum(["applied", "pending_merge", "noop"]),
  /** True when earlier work with the same idempotency key was found and reused. */
  reused: z.boolean().default(false),
  /** The revision that carries the change (a commit SHA), when there is one. */
  revision: z.string().optional(),
  /** The change request, when one was opened or found. */
  changeRequest: z
    .object({ id: z.string(), url: z.string(), state: z.enum(["open", "merged", "closed"]) })
    .optional(),
  /**
   * Versions this change moved away from that must not be deployed again before `until`
   * (anti-flapping). The controller records them; later decision inputs list them in
   * `deployment.quarantined` until they expire.
   */
  quarantine: z.array(z.object({ version: z.string().min(1), until: Timestamp })).optional(),
  /**
   * A time-boxed action's way back: at `at`, if the service has no open incident (the
   * symptom is gone), the controller opens an incident of its own that carries out `action`
   * with `params` (a scale-up's revert). Recorded as `followup.scheduled`.
   */
  followUp: z
    .object({ at: Timestamp, action: ActionName, params: JsonObject, reason: z.string().min(1) })
    .optional(),
  /** When the remediator started and finished. */
  startedAt: Timestamp,
  finishedAt: Timestamp,
  /** Adapter specifics, under a key named after the adapter (request ids, branch names). */
  details: JsonObject.optional(),
});
export type RemediationResult = z.infer<typeof RemediationResult>;
export type RemediationResultDraft = z.input<typeof RemediationResult>;
