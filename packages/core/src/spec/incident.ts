import { z } from "zod";
import { ActionName, JsonObject, StringMap, Timestamp } from "./common.js";
import { Decision } from "./decision.js";
import { RemediationPlan, RemediationResult } from "./remediation.js";
import { VerificationResult } from "./verification.js";

/**
 * Where an incident is in its life. Open states: `received`, `deciding`, `acting`,
 * `awaiting_merge`, `syncing`, `verifying`, `failed`. Closed states: `resolved` (the action
 * worked), `suppressed` (a guardrail or dry run stopped the action), `escalated` (a human must
 * look), `cancelled` (the alert resolved or went stale before any action), `no_action` (the
 * policy chose to do nothing).
 */
export const IncidentState = z.enum([
  "received",
  "deciding",
  "acting",
  "awaiting_merge",
  "syncing",
  "verifying",
  "failed",
  "resolved",
  "suppressed",
  "escalated",
  "cancelled",
  "no_action",
]);
export type IncidentState = z.infer<typeof IncidentState>;

/** States in which an incident is finished and never moves again. */
export const closedStates: ReadonlySet<IncidentState> = new Set([
  "resolved",
  "suppressed",
  "escalated",
  "cancelled",
  "no_action",
]);

/** States in which an action is under way (they count against the global concurrency limit). */
export const actingStates: ReadonlySet<IncidentState> = new Set([
  "acting",
  "awaiting_merge",
  "syncing",
  "verifying",
]);

/** Why a guardrail stopped an action. */
export const SuppressionReason = z.enum([
  "rate_limit",
  "cooldown",
  "concurrency",
  "circuit_open",
  "kill_switch",
  "change_freeze",
  "replica_cap",
  "invalid_target",
  "unsupported_action",
  "dry_run",
]);
export type SuppressionReason = z.infer<typeof SuppressionReason>;

/**
 * What a follow-up incident carries out: the time-boxed action recorded by an earlier remediation
 * (`followup.scheduled`), copied from the controller's own audit trail when it opens the
 * follow-up. Signals never set it.
 */
export const FollowUpOrder = z.object({
  /** The incident whose remediation scheduled it. */
  of: z.string().min(1),
  /** The `followup.scheduled` event it comes from. */
  event: z.string().min(1),
  /** The action to carry out (`scale_down`). */
  action: ActionName,
  /** Its parameters, as the remediation recorded them. */
  params: JsonObject,
  /** Why, as the remediation recorded it. */
  reason: z.string(),
});
export type FollowUpOrder = z.infer<typeof FollowUpOrder>;

/**
 * One problem (an alert on a service) and everything the controller did about it. Signals with
 * the same incident key fold into the open incident of that key. Every change bumps `revision`;
 * stores reject an update made against an older revision.
 */
export const Incident = z.object({
  /** Stable id, safe in branch names (`checkout-higherrorrate-1a2b3c4d`). */
  id: z.string().min(1),
  /** The incident key signals are folded by (default `service/alertname`). */
  key: z.string().min(1),
  /** The service. */
  service: z.string().min(1),
  /** The alert name. */
  alertname: z.string().min(1),
  /** Where the incident is. */
  state: IncidentState,
  /** Bumped on every change; used for compare-and-set updates. */
  revision: z.number().int().nonnegative(),
  /**
   * The name of the source whose signal opened it (`alertmanager`, `argocd`): the controller's
   * configuration, never the signal's content. Absent on incidents recorded before it was kept.
   */
  source: z.string().optional(),
  /** Labels and annotations of the signal that opened it. */
  labels: StringMap,
  annotations: StringMap,
  /** The fingerprint and start of the signal that opened it. */
  fingerprint: z.string(),
  startsAt: Timestamp,
  /**
   * Link to the rule that fired, from the signal that opened it (Prometheus's `generatorURL`,
   * which carries the rule's expression: a level check can evaluate it again).
   */
  generatorUrl: z.string().optional(),
  /**
   * The most alerts a sender left out of any notification that fed this incident
   * (`Signal.truncatedAlerts`). Absent when none was left out.
   */
  truncatedAlerts: z.number().int().positive().optional(),
  /** Fingerprints of alerts of this incident still firing. Empty once all resolved. */
  firing: z.array(z.string()),
  /** Signals folded into it, duplicates not counted. */
  signalCount: z.number().int().positive(),
  /** Times. */
  openedAt: Timestamp,
  updatedAt: Timestamp,
  closedAt: Timestamp.optional(),
  /** Set when all its alerts resolved; an action that has not started is then cancelled. */
  resolvedAt: Timestamp.optional(),
  /** The decision, once made, with the policy's name. */
  decision: Decision.extend({ policy: z.string(), decidedAt: Timestamp }).optional(),
  /** The plan, once made. */
  plan: RemediationPlan.optional(),
  /** The result of carrying out the plan, once recorded. */
  result: RemediationResult.optional(),
  /** Verdicts of the verifiers, in order. */
  verifications: z.array(VerificationResult).default([]),
  /** Why it is suppressed, when it is. */
  suppression: z.object({ reason: SuppressionReason, detail: z.string() }).optional(),
  /** Why it was closed, in words (for `cancelled`, `escalated`, `no_action`, `failed`). */
  closeReason: z.string().optional(),
  /**
   * Set while a decision that failed for a dependency (an enricher's source or the policy
   * unreachable) waits to be made again: the attempt that failed, when the next one is due, and
   * why it failed.
   */
  decisionRetry: z
    .object({ attempt: z.number().int().positive(), at: Timestamp, cause: z.string() })
    .optional(),
  /** Deadline of verification, fixed when verification starts so a restart keeps it. */
  verifyDeadline: Timestamp.optional(),
  /** Anything else worth keeping, under a key named after who wrote it. */
  details: JsonObject.optional(),
  /**
   * Set when the controller opened this incident itself to carry out a follow-up: its decision
   * is this order, not the policy's. Only the controller's own records set it.
   */
  followUp: FollowUpOrder.optional(),
});
export type Incident = z.infer<typeof Incident>;
