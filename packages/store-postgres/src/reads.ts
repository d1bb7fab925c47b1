import {
  type ActionRecord,
  type AuditEvent,
  closedStates,
  type EventQuery,
  type Incident,
  type IncidentQuery,
} from "@selfheal/core";
import type { Tables } from "./postgres-settings.js";
import type { Connection } from "./runner.js";

/** A WHERE clause built from optional filters, with its bound values. */
class Filter {
  readonly values: unknown[] = [];
  private readonly parts: string[] = [];
  /** Add a condition; `$?` in it is replaced by the next parameter number. */
  add(condition: string, value: unknown): void {
    this.values.push(value);
    this.parts.push(condition.replace("$?", `$${this.values.length}`));
  }
  toString(): string {
    return this.parts.length === 0 ? "" : `WHERE ${this.parts.join(" AND ")}`;
  }
}

const closedList = [...closedStates];

export async function getIncident(
  connection: Connection,
  tables: Tables,
  id: string,
): Promise<Incident | undefined> {
  const result = await connection.query<{ doc: Incident }>(
    `SELECT doc FROM ${tables.incidents} WHERE id = $1`,
    [id],
  );
  return result.rows[0]?.doc;
}

/** Newest first; incidents opened at the same time in the order they were created, as in memory. */
export async function listIncidents(
  connection: Connection,
  tables: Tables,
  query: IncidentQuery = {},
): Promise<Incident[]> {
  const filter = new Filter();
  if (query.open === true) filter.add("state <> ALL($?::text[])", closedList);
  if (query.open === false) filter.add("state = ANY($?::text[])", closedList);
  if (query.service !== undefined) filter.add("service = $?", query.service);
  if (query.states !== undefined) filter.add("state = ANY($?::text[])", [...query.states]);
  if (query.since !== undefined) filter.add("opened_at >= $?::timestamptz", query.since);
  if (query.until !== undefined) filter.add("opened_at < $?::timestamptz", query.until);
  let sql = `SELECT doc FROM ${tables.incidents} ${filter} ORDER BY opened_at DESC, created_seq`;
  if (query.limit !== undefined) {
    filter.values.push(query.limit);
    sql += ` LIMIT $${filter.values.length}`;
  }
  const result = await connection.query<{ doc: Incident }>(sql, filter.values);
  return result.rows.map((row) => row.doc);
}

/** Oldest first; events of the same time in the order they were written, as in memory. */
export async function listEvents(
  connection: Connection,
  tables: Tables,
  query: EventQuery = {},
): Promise<AuditEvent[]> {
  const filter = new Filter();
  if (query.incidentId !== undefined) filter.add("incident_id = $?", query.incidentId);
  if (query.incidentIds !== undefined) filter.add("incident_id = ANY($?::text[])", [...query.incidentIds]);
  if (query.service !== undefined) filter.add("service = $?", query.service);
  if (query.types !== undefined) filter.add("type = ANY($?::text[])", [...query.types]);
  if (query.since !== undefined) filter.add("at >= $?::timestamptz", query.since);
  if (query.until !== undefined) filter.add("at < $?::timestamptz", query.until);
  const result = await connection.query<{ doc: AuditEvent }>(
    `SELECT doc FROM ${tables.events} ${filter} ORDER BY at, seq`,
    filter.values,
  );
  return result.rows.map((row) => row.doc);
}

/** Newest first. */
export async function listActions(
  connection: Connection,
  tables: Tables,
  query: { readonly service?: string; readonly since: string },
): Promise<ActionRecord[]> {
  const filter = new Filter();
  filter.add("at >= $?::timestamptz", query.since);
  if (query.service !== undefined) filter.add("service = $?", query.service);
  const result = await connection.query<{
    incident_id: string;
    service: string;
    action: ActionRecord["action"];
    idempotency_key: string;
    at_text: string;
    outcome: ActionRecord["outcome"];
  }>(
    `SELECT incident_id, service, action, idempotency_key, at_text, outcome
       FROM ${tables.actions} ${filter} ORDER BY at DESC, id`,
    filter.values,
  );
  return result.rows.map((row) => ({
    incidentId: row.incident_id,
    service: row.service,
    action: row.action,
    idempotencyKey: row.idempotency_key,
    at: row.at_text,
    outcome: row.outcome,
  }));
}
