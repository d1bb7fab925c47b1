// Bulk loads of the generated history: into the PostgreSQL store's own tables (as its migrations
// create them) with multi-row INSERTs, and into a file store's folder in its journal format.

import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { openPostgresStore } from "@selfheal/store-postgres";
import pg from "pg";
import { fleetHistory, type HistorySettings, type IncidentHistory } from "./history.js";

/** What a load wrote. */
export interface Loaded {
  readonly incidents: number;
  readonly events: number;
  readonly seconds: number;
}

/** Incidents per INSERT round: about 12,000 events, a few MB of JSON per statement. */
const batchIncidents = 1_000;

/**
 * Create the store's tables (by opening the store, which runs its migrations), then insert the
 * history straight into them: incidents, audit events, actions, seen deliveries and keys, as the
 * store's own writes would leave them. `ANALYZE` at the end, as autovacuum would after a year.
 */
export async function loadPostgres(url: string, schema: string, settings: HistorySettings): Promise<Loaded> {
  const started = performance.now();
  const store = await openPostgresStore({ connectionString: url, schema });
  await store.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const q = `"${schema}"`;
  let incidents = 0;
  let events = 0;
  try {
    let batch: IncidentHistory[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await insertBatch(client, q, batch);
      incidents += batch.length;
      events += batch.reduce((sum, history) => sum + history.events.length, 0);
      batch = [];
    };
    for (const history of fleetHistory(settings)) {
      batch.push(history);
      if (batch.length >= batchIncidents) await flush();
    }
    await flush();
    await client.query(`ANALYZE ${q}.incidents; ANALYZE ${q}.audit_events; ANALYZE ${q}.actions`);
  } finally {
    await client.end();
  }
  return { incidents, events, seconds: (performance.now() - started) / 1000 };
}

async function insertBatch(client: pg.Client, q: string, batch: readonly IncidentHistory[]): Promise<void> {
  const incidents = batch.map((history) => history.incident);
  const events = batch.flatMap((history) => history.events);
  const actions = batch.flatMap((history) =>
    history.action === undefined ? [] : [{ ...history.action, incident: history.incident }],
  );
  await client.query("BEGIN");
  // One JSON document per table and statement: PostgreSQL parses it once, with no array
  // literal to escape, as the store's own event appender does.
  await client.query(
    `INSERT INTO ${q}.incidents (id, key, service, state, revision, opened_at, closed_at, doc)
     SELECT i ->> 'id', i ->> 'key', i ->> 'service', i ->> 'state', (i ->> 'revision')::int,
            (i ->> 'openedAt')::timestamptz, (i ->> 'closedAt')::timestamptz, i
       FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(i, n) ORDER BY n`,
    [JSON.stringify(incidents)],
  );
  await client.query(
    `INSERT INTO ${q}.audit_events (id, incident_id, service, type, at, doc)
     SELECT e ->> 'id', e ->> 'incidentId', e ->> 'service', e ->> 'type', (e ->> 'at')::timestamptz, e
       FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n`,
    [JSON.stringify(events)],
  );
  await client.query(
    `INSERT INTO ${q}.actions (idempotency_key, incident_id, service, action, at, at_text, outcome)
     SELECT k, i, s, 'rollback', a::timestamptz, a, o
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(k, i, s, a, o)`,
    [
      actions.map((a) => a.idempotencyKey),
      actions.map((a) => a.incident.id),
      actions.map((a) => a.incident.service),
      actions.map((a) => a.at),
      actions.map((a) => a.outcome),
    ],
  );
  const seen = batch.flatMap((history) => history.dedupKeys.map((key) => [key, history.incident.id]));
  await client.query(
    `INSERT INTO ${q}.signals_seen (dedup_key, incident_id) SELECT * FROM unnest($1::text[], $2::text[])`,
    [seen.map((row) => row[0]), seen.map((row) => row[1])],
  );
  await client.query(
    `INSERT INTO ${q}.incident_keys (key) SELECT DISTINCT unnest($1::text[]) ON CONFLICT DO NOTHING`,
    [incidents.map((i) => i.key)],
  );
  await client.query("COMMIT");
}

/**
 * Write the history as a file store's journal (`journal.ndjson`, generation 0): per incident one
 * committed write of its seen deliveries, its incident record and its events, as the store's
 * journal writer lays them out. The store rebuilds its state from it when opened.
 */
export async function loadFile(dir: string, settings: HistorySettings): Promise<Loaded> {
  const started = performance.now();
  const out = createWriteStream(join(dir, "journal.ndjson"));
  let incidents = 0;
  let events = 0;
  const commit = `${JSON.stringify({ kind: "commit" })}\n`;
  for (const history of fleetHistory(settings)) {
    let text = "";
    for (const dedupKey of history.dedupKeys)
      text += `${JSON.stringify({ kind: "seen", dedupKey, incidentId: history.incident.id })}\n`;
    text += `${JSON.stringify({ kind: "incident", incident: history.incident })}\n`;
    text += `${JSON.stringify({ kind: "events", events: history.events })}\n${commit}`;
    incidents++;
    events += history.events.length;
    if (!out.write(text)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  return { incidents, events, seconds: (performance.now() - started) / 1000 };
}
