import { closedStates } from "@selfheal/core";
import type { Tables } from "./postgres-settings.js";
import type { Connection } from "./runner.js";

/** One step of the schema. Steps are never edited once released: a change is a new step. */
interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: (tables: Tables) => string;
}

const closedList = [...closedStates].map((state) => `'${state}'`).join(", ");

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "incidents, seen signals, audit events, actions, claims, quarantined versions",
    sql: (t) => `
      CREATE SEQUENCE ${t.schema}.incident_writes;
      CREATE TABLE ${t.incidents} (
        id text PRIMARY KEY,
        key text NOT NULL,
        service text NOT NULL,
        state text NOT NULL,
        revision integer NOT NULL,
        opened_at timestamptz NOT NULL,
        closed_at timestamptz,
        doc jsonb NOT NULL,
        -- creation order breaks ties between incidents opened at the same time, as in memory
        created_seq bigserial NOT NULL,
        -- write order: of two incidents of a key opened at the same time, the last written is the latest
        write_seq bigint NOT NULL DEFAULT nextval('${t.schema}.incident_writes')
      );
      -- At most one incident per key takes new signals: the one not closed yet.
      CREATE UNIQUE INDEX incidents_open_key ON ${t.incidents} (key) WHERE closed_at IS NULL;
      CREATE INDEX incidents_key_latest ON ${t.incidents} (key, opened_at DESC, write_seq DESC);
      CREATE INDEX incidents_opened ON ${t.incidents} (opened_at DESC, created_seq);
      CREATE INDEX incidents_service_opened ON ${t.incidents} (service, opened_at DESC);
      CREATE INDEX incidents_open_states ON ${t.incidents} (opened_at DESC) WHERE state NOT IN (${closedList});

      -- One row per incident key, locked by ingest so that concurrent signals of a key fold in turn.
      CREATE TABLE ${t.keys} (key text PRIMARY KEY);

      CREATE TABLE ${t.seen} (
        dedup_key text PRIMARY KEY,
        incident_id text,
        seen_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE ${t.events} (
        seq bigserial PRIMARY KEY,
        id text NOT NULL,
        incident_id text,
        service text,
        type text NOT NULL,
        at timestamptz NOT NULL,
        doc jsonb NOT NULL
      );
      CREATE INDEX audit_events_at ON ${t.events} (at, seq);
      CREATE INDEX audit_events_incident ON ${t.events} (incident_id, at, seq) WHERE incident_id IS NOT NULL;
      CREATE INDEX audit_events_service ON ${t.events} (service, at, seq) WHERE service IS NOT NULL;

      -- Actions as the audit trail tells them, kept up to date in the transaction that appends the events.
      CREATE TABLE ${t.actions} (
        id bigserial NOT NULL,
        idempotency_key text PRIMARY KEY,
        incident_id text NOT NULL,
        service text NOT NULL,
        action text NOT NULL,
        at timestamptz NOT NULL,
        at_text text NOT NULL,
        outcome text NOT NULL
      );
      CREATE INDEX actions_service_at ON ${t.actions} (service, at DESC);
      CREATE INDEX actions_at ON ${t.actions} (at DESC);

      -- Claim rows are never deleted: the token of a resource only grows.
      CREATE TABLE ${t.claims} (
        resource text PRIMARY KEY,
        owner text NOT NULL,
        token bigint NOT NULL,
        expires_at timestamptz NOT NULL
      );

      CREATE TABLE ${t.quarantine} (
        service text NOT NULL,
        image text NOT NULL,
        until timestamptz NOT NULL,
        incident_id text,
        added_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (service, image)
      );
      CREATE INDEX quarantined_versions_until ON ${t.quarantine} (until);

      -- The seed's audit table, as a view over the actions and their events, so its SQL and
      -- dashboards keep working.
      CREATE VIEW ${t.auditView} AS
      SELECT a.id,
             a.at AS "timestamp",
             a.service,
             a.action,
             d.doc #>> '{data,decision,reason}' AS reason,
             d.doc #> '{data,decision}' AS decision,
             c.doc #>> '{data,result,changeRequest,url}' AS pr_url,
             CASE a.outcome WHEN 'succeeded' THEN true WHEN 'failed' THEN false WHEN 'cancelled' THEN false END AS success,
             a.outcome,
             a.incident_id,
             a.idempotency_key
        FROM ${t.actions} a
        LEFT JOIN LATERAL (
          SELECT doc FROM ${t.events} e
           WHERE e.incident_id = a.incident_id AND e.type = 'decision.made'
           ORDER BY e.at DESC, e.seq DESC LIMIT 1
        ) d ON true
        LEFT JOIN LATERAL (
          SELECT doc FROM ${t.events} e
           WHERE e.incident_id = a.incident_id AND e.type = 'remediation.completed'
             AND e.doc ->> 'idempotencyKey' = a.idempotency_key
           ORDER BY e.seq LIMIT 1
        ) c ON true;
    `,
  },
  {
    version: 2,
    name: "audit events by service and type, for the guardrails' reads before every decision",
    // The circuit breaker (verification.failed, circuit.* of a service) and the quarantine
    // (quarantine.added of a service) read a few event types of one service: through
    // audit_events_service they fetched every event of the service (about 2,000 a year each, in
    // a busy fleet) to keep a handful. With the type in the key they read only those.
    sql: (t) => `
      CREATE INDEX audit_events_service_type ON ${t.events} (service, type, at, seq) WHERE service IS NOT NULL;
    `,
  },
];

/**
 * Bring the schema up to date, in the caller's transaction. The advisory lock (keyed by the
 * schema name, released at commit) makes replicas starting together take turns: the first
 * creates everything, the others find it done.
 */
export async function migrate(connection: Connection, tables: Tables, schema: string): Promise<number[]> {
  await connection.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`selfheal.migrate:${schema}`]);
  // CREATE SCHEMA checks the privilege to create before it looks: ask first, so a role that may
  // use an existing schema but not create one still starts.
  const exists = await connection.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
  if (exists.rowCount === 0) await connection.query(`CREATE SCHEMA ${tables.schema}`);
  await connection.query(
    `CREATE TABLE IF NOT EXISTS ${tables.migrations} (
       version integer PRIMARY KEY,
       name text NOT NULL,
       applied_at timestamptz NOT NULL DEFAULT now()
     )`,
  );
  const done = await connection.query<{ version: number }>(`SELECT version FROM ${tables.migrations}`);
  const applied = new Set(done.rows.map((row) => row.version));
  const ran: number[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    await connection.query(migration.sql(tables));
    await connection.query(`INSERT INTO ${tables.migrations} (version, name) VALUES ($1, $2)`, [
      migration.version,
      migration.name,
    ]);
    ran.push(migration.version);
  }
  return ran;
}
