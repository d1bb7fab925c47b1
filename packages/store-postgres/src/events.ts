import type { ActionRecord, AuditEvent } from "@selfheal/core";
import type { Tables } from "./postgres-settings.js";
import type { Connection } from "./runner.js";

/** The statement appending events, in the order given (their `seq` follows it). */
export function insertEventsSql(tables: Tables): string {
  return `INSERT INTO ${tables.events} (id, incident_id, service, type, at, doc)
          SELECT e ->> 'id', e ->> 'incidentId', e ->> 'service', e ->> 'type', (e ->> 'at')::timestamptz, e
            FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, n)
           ORDER BY n`;
}

/** Whether appending these events changes the actions table (most events do not). */
export function touchesActions(events: readonly AuditEvent[]): boolean {
  return events.some((event) => actionChange(event) !== undefined);
}

/**
 * Append events and bring the actions up to date, in the caller's transaction. Actions follow
 * the rules of the memory store: the first start (or dry-run plan) makes the action, the first
 * ending of a pending action sets its outcome.
 */
export async function insertEvents(
  connection: Connection,
  tables: Tables,
  events: readonly AuditEvent[],
): Promise<void> {
  if (events.length === 0) return;
  await connection.query(insertEventsSql(tables), [JSON.stringify(events)]);
  for (const event of events) {
    const change = actionChange(event);
    if (change === undefined) continue;
    if (change.kind === "start") {
      await connection.query(
        `INSERT INTO ${tables.actions} (idempotency_key, incident_id, service, action, at, at_text, outcome)
         VALUES ($1, $2, $3, $4, $5::timestamptz, $6::text, $7)
         ON CONFLICT (idempotency_key) DO NOTHING`,
        [change.key, change.incidentId, change.service, change.action, change.at, change.at, change.outcome],
      );
    } else {
      await connection.query(
        `UPDATE ${tables.actions} SET outcome = $2 WHERE idempotency_key = $1 AND outcome = 'pending'`,
        [change.key, change.outcome],
      );
    }
  }
}

type ActionChange =
  | {
      readonly kind: "start";
      readonly key: string;
      readonly incidentId: string;
      readonly service: string;
      readonly action: string;
      readonly at: string;
      readonly outcome: ActionRecord["outcome"];
    }
  | { readonly kind: "end"; readonly key: string; readonly outcome: ActionRecord["outcome"] };

/** What an event does to the action it names, if anything. */
function actionChange(event: AuditEvent): ActionChange | undefined {
  const key = event.idempotencyKey;
  if (key === undefined) return undefined;
  const startsAction =
    event.type === "remediation.started" || (event.type === "remediation.planned" && event.dryRun === true);
  if (startsAction) {
    if (event.incidentId === undefined || event.service === undefined || event.action === undefined)
      return undefined;
    return {
      kind: "start",
      key,
      incidentId: event.incidentId,
      service: event.service,
      action: event.action,
      at: event.at,
      outcome: event.dryRun === true ? "dry_run" : "pending",
    };
  }
  const outcome = outcomeOf(event);
  return outcome === undefined ? undefined : { kind: "end", key, outcome };
}

/** How an event ends the action it names, if it does. The first ending counts. */
function outcomeOf(event: AuditEvent): ActionRecord["outcome"] | undefined {
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
