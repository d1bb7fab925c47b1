import type { AuditEvent } from "../spec/audit-event.js";
import type { ActionRecord } from "../spec/store.js";

/**
 * What an audit event does to the action it names: starts it (`remediation.started`, or
 * `remediation.planned` in dry run), ends it (failed, cancelled, or succeeded when its incident
 * closes resolved), or nothing. Every store derives `listActions` from the trail by this rule;
 * the first ending of an action counts.
 */
export type ActionChange =
  | ({ readonly kind: "start" } & ActionRecord)
  | { readonly kind: "end"; readonly idempotencyKey: string; readonly outcome: ActionRecord["outcome"] };

/** The {@link ActionChange} of one event, if any. */
export function actionChange(event: AuditEvent): ActionChange | undefined {
  const key = event.idempotencyKey;
  if (key === undefined) return undefined;
  const startsAction =
    event.type === "remediation.started" || (event.type === "remediation.planned" && event.dryRun === true);
  if (startsAction) {
    if (event.incidentId === undefined || event.service === undefined || event.action === undefined)
      return undefined;
    return {
      kind: "start",
      incidentId: event.incidentId,
      service: event.service,
      action: event.action,
      idempotencyKey: key,
      at: event.at,
      outcome: event.dryRun === true ? "dry_run" : "pending",
    };
  }
  const outcome = endingOf(event);
  return outcome === undefined ? undefined : { kind: "end", idempotencyKey: key, outcome };
}

function endingOf(event: AuditEvent): ActionRecord["outcome"] | undefined {
  switch (event.type) {
    case "remediation.failed":
    case "verification.failed":
      return "failed";
    case "remediation.cancelled":
      return "cancelled";
    case "incident.closed":
      return event.data?.state === "resolved" ? "succeeded" : undefined;
    default:
      return undefined;
  }
}
