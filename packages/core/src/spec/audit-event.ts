import { z } from "zod";
import { ActionName, JsonObject, Timestamp } from "./common.js";

/**
 * Kinds of audit event. `*.started` is written before a side effect or a call out, the
 * matching `*.completed` / `*.failed` after it.
 */
export const AuditEventType = z.enum([
  "signal.received",
  "signal.duplicate",
  "signal.rejected",
  "incident.opened",
  "incident.state",
  "incident.closed",
  "enrich.completed",
  "enrich.failed",
  "decision.made",
  "decision.failed",
  "decision.shadow",
  "guardrail.suppressed",
  "guardrail.passed",
  "remediation.planned",
  "remediation.started",
  "remediation.completed",
  "remediation.failed",
  "remediation.cancelled",
  "merge.completed",
  "quarantine.added",
  "followup.scheduled",
  "hook.completed",
  "hook.failed",
  "verification.started",
  "verification.passed",
  "verification.failed",
  "notification.sent",
  "notification.failed",
  "circuit.opened",
  "circuit.reset",
  "controller.resumed",
]);
export type AuditEventType = z.infer<typeof AuditEventType>;

/**
 * One entry of the audit trail. Written to the store before and after every side effect;
 * never changed once written. Secrets are redacted before an event is stored.
 */
export const AuditEvent = z.object({
  /** Unique id. */
  id: z.string().min(1),
  /** When it happened. */
  at: Timestamp,
  /** What happened. */
  type: AuditEventType,
  /** The incident, when the event belongs to one. */
  incidentId: z.string().optional(),
  /** The service, when known. */
  service: z.string().optional(),
  /** The action concerned (`rollback`). */
  action: ActionName.optional(),
  /** Whether it was a dry run (the action was only planned). */
  dryRun: z.boolean().optional(),
  /** The idempotency key of the action concerned. */
  idempotencyKey: z.string().optional(),
  /** Which controller instance wrote it. */
  actor: z.string(),
  /** In words, for people reading the trail. */
  message: z.string(),
  /** Details: the decision, the plan, the result, the error. */
  data: JsonObject.optional(),
});
export type AuditEvent = z.infer<typeof AuditEvent>;
