import type { Incident, IngestEntry, IngestOutcome } from "@selfheal/core";
import { walkIngest } from "@selfheal/core/internal";
import { insertEvents } from "./events.js";
import type { Tables } from "./postgres-settings.js";
import type { Connection } from "./runner.js";

/**
 * Record signals in the caller's transaction, as the memory store does, safe against other
 * transactions doing the same at once (in this process or another):
 *
 * - the rows of the batch's incident keys are locked first, in key order (no deadlock between
 *   batches), so signals of one key fold in turn;
 * - each delivery is claimed by inserting its dedupKey (`ON CONFLICT DO NOTHING`): one that is
 *   already there, or that a concurrent transaction inserts first, is a duplicate;
 * - the latest incident of each key is read `FOR UPDATE`, so a concurrent `updateIncident`
 *   waits and then fails its compare-and-set instead of being overwritten.
 */
export async function ingestEntries(
  connection: Connection,
  tables: Tables,
  entries: readonly IngestEntry[],
  now: Date,
): Promise<IngestOutcome[]> {
  if (entries.length === 0) return [];
  const keys = [...new Set(entries.map((entry) => entry.key))].sort();
  await connection.query(
    `INSERT INTO ${tables.keys} (key) SELECT k FROM unnest($1::text[]) AS k ORDER BY k
     ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key`,
    [keys],
  );
  const dedupKeys = [...new Set(entries.map((entry) => entry.signal.dedupKey))];
  const inserted = await connection.query<{ dedup_key: string }>(
    `INSERT INTO ${tables.seen} (dedup_key) SELECT unnest($1::text[])
     ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key`,
    [dedupKeys],
  );
  const fresh = new Set(inserted.rows.map((row) => row.dedup_key));
  const seenBefore = new Map<string, string | null>();
  const known = new Map<string, Incident>();
  const old = dedupKeys.filter((key) => !fresh.has(key));
  if (old.length > 0) {
    const rows = await connection.query<{
      dedup_key: string;
      incident_id: string | null;
      doc: Incident | null;
    }>(
      `SELECT s.dedup_key, s.incident_id, i.doc FROM ${tables.seen} s
         LEFT JOIN ${tables.incidents} i ON i.id = s.incident_id
        WHERE s.dedup_key = ANY($1::text[])`,
      [old],
    );
    for (const row of rows.rows) {
      seenBefore.set(row.dedup_key, row.incident_id);
      if (row.doc !== null) known.set(row.doc.id, row.doc);
    }
  }
  const freshKeys = [
    ...new Set(entries.filter((entry) => fresh.has(entry.signal.dedupKey)).map((entry) => entry.key)),
  ];
  const latestByKey = new Map<string, Incident>();
  if (freshKeys.length > 0) {
    const rows = await connection.query<{ doc: Incident }>(
      `SELECT doc FROM ${tables.incidents} WHERE id IN (
         SELECT DISTINCT ON (key) id FROM ${tables.incidents} WHERE key = ANY($1::text[])
          ORDER BY key, opened_at DESC, write_seq DESC
       ) FOR UPDATE`,
      [freshKeys],
    );
    for (const row of rows.rows) latestByKey.set(row.doc.key, row.doc);
  }

  // A delivery this transaction did not insert was there before: a duplicate, of its incident if any.
  const { outcomes, seen, touched, events } = walkIngest(entries, now, {
    seen: (dedupKey) => (fresh.has(dedupKey) ? undefined : (seenBefore.get(dedupKey) ?? null)),
    incident: (id) => known.get(id),
    latest: (key) => latestByKey.get(key),
  });

  if (touched.size > 0) {
    await connection.query(
      `INSERT INTO ${tables.incidents} (id, key, service, state, revision, opened_at, closed_at, doc)
       SELECT d ->> 'id', d ->> 'key', d ->> 'service', d ->> 'state', (d ->> 'revision')::integer,
              (d ->> 'openedAt')::timestamptz, (d ->> 'closedAt')::timestamptz, d
         FROM jsonb_array_elements($1::jsonb) AS d
       ON CONFLICT (id) DO UPDATE SET
         state = EXCLUDED.state, revision = EXCLUDED.revision, closed_at = EXCLUDED.closed_at,
         doc = EXCLUDED.doc, write_seq = nextval('${tables.schema}.incident_writes')`,
      [JSON.stringify([...touched.values()])],
    );
  }
  const linked = [...seen].filter((pair): pair is [string, string] => pair[1] !== null);
  if (linked.length > 0) {
    await connection.query(
      `UPDATE ${tables.seen} AS s SET incident_id = v.incident_id
         FROM unnest($1::text[], $2::text[]) AS v(dedup_key, incident_id)
        WHERE s.dedup_key = v.dedup_key`,
      [linked.map((pair) => pair[0]), linked.map((pair) => pair[1])],
    );
  }
  await insertEvents(connection, tables, events);
  // The incidents share objects with the caller's signals (labels): hand back copies.
  return structuredClone(outcomes);
}
