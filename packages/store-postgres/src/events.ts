import { type AuditEvent, actionChange } from "@selfheal/core";
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
        [
          change.idempotencyKey,
          change.incidentId,
          change.service,
          change.action,
          change.at,
          change.at,
          change.outcome,
        ],
      );
    } else {
      await connection.query(
        `UPDATE ${tables.actions} SET outcome = $2 WHERE idempotency_key = $1 AND outcome = 'pending'`,
        [change.idempotencyKey, change.outcome],
      );
    }
  }
}
