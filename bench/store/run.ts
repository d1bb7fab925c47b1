// bench/store: audit-event appends per second and claim latency, for the file store, the
// PostgreSQL store, and the simplest PostgreSQL alternative (one INSERT per event on plain
// connections, session advisory locks for claims). Prints one JSON object as its last line.
//
//   BENCH_EVENTS (default 20000)   events appended one per call, by BENCH_WRITERS writers (and
//                                  again in batches of 100)
//   BENCH_ROUNDS (default 3)       rounds the one-per-call appends are split into, targets taking turns
//   BENCH_WRITERS (default 16)     calls in flight
//   BENCH_CLAIMS (default 2000)    claim + release pairs, by 8 workers
//   BENCH_PG_URL                   default postgres://postgres@127.0.0.1:5432/test
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AuditEvent, fileStore, incidentIdFor, type Store } from "@selfheal/core";
import { openPostgresStore } from "@selfheal/store-postgres";
import pg from "pg";
import { percentile } from "../stats.js";
import { chunk, makeEvents, round, runWriters } from "./workload.js";

const eventCount = Number(process.env.BENCH_EVENTS ?? 20_000);
const writers = Number(process.env.BENCH_WRITERS ?? 16);
const claimCount = Number(process.env.BENCH_CLAIMS ?? 2_000);
const claimWorkers = 8;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const batchSize = 100;
const databaseUrl = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** Something events are appended to, one call per event or per batch. */
interface Target {
  readonly label: string;
  readonly append: (events: readonly AuditEvent[], writer: number) => Promise<unknown>;
}

/**
 * Appends one event per call from `writers` writers, in rounds that take turns between the
 * targets (this machine is shared: a burst of load elsewhere then hits every target, not one),
 * and reports the median round of each. Then batches of 100, and a check that all are there.
 */
async function measureAppends(targets: readonly Target[]) {
  const perRound = Math.ceil(eventCount / rounds);
  const rates = new Map<string, number[]>(targets.map((target) => [target.label, []]));
  const p99s = new Map<string, number[]>(targets.map((target) => [target.label, []]));
  for (let round = 0; round < rounds; round++) {
    for (const target of targets) {
      const events = makeEvents(perRound, `${target.label}-single-${round}`);
      const run = await runWriters(events, writers, (event, writer) => target.append([event], writer));
      rates.get(target.label)?.push(perRound / run.seconds);
      p99s.get(target.label)?.push(percentile(run.latencies, 99));
    }
  }
  const median = (values: readonly number[] = []) => percentile(values, 50);
  return new Map(
    targets.map((target) => [
      target.label,
      {
        appends_per_s: Math.round(median(rates.get(target.label))),
        append_p99_ms: round(median(p99s.get(target.label))),
      },
    ]),
  );
}

/** Batches of 100 from `writers` writers. */
async function measureBatches(store: Store, label: string): Promise<number> {
  const batches = chunk(makeEvents(eventCount, `${label}-batch`), batchSize);
  const run = await runWriters(batches, writers, (events) => store.appendEvents(events));
  return Math.round(eventCount / run.seconds);
}

/** Every event appended is there. */
async function checkStored(store: Store, label: string): Promise<void> {
  const wanted = Math.ceil(eventCount / rounds) * rounds + eventCount;
  const stored = (await store.listEvents()).length;
  if (stored !== wanted) throw new Error(`${label}: ${stored} events stored, ${wanted} appended`);
}

/**
 * Compare-and-set updates, each worker on an incident of its own: what a single-process store
 * offers in place of claims.
 */
async function measureCasUpdates(
  store: Store,
): Promise<{ cas_update_p50_ms: number; cas_update_p99_ms: number }> {
  const incidents = await Promise.all(
    Array.from({ length: claimWorkers }, async (_, index) => {
      const service = `cas-${index}`;
      const dedupKey = `cas-${index}/firing`;
      const key = `${service}/HighErrorRate`;
      const [outcome] = await store.ingest([
        {
          key,
          newIncidentId: incidentIdFor(key, dedupKey),
          actor: "bench",
          signal: {
            source: "bench",
            alertname: "HighErrorRate",
            service,
            status: "firing",
            fingerprint: `cas${index}`,
            startsAt: "2030-01-01T00:00:00.000Z",
            receivedAt: "2030-01-01T00:00:00.000Z",
            labels: {},
            annotations: {},
            dedupKey,
          },
        },
      ]);
      if (outcome?.incident === undefined) throw new Error("no incident");
      return outcome.incident;
    }),
  );
  const run = await runWriters(Array.from({ length: claimCount }), claimWorkers, async (_, worker) => {
    const current = incidents[worker];
    if (current === undefined) throw new Error("no incident");
    incidents[worker] = await store.updateIncident(
      { ...current, updatedAt: new Date().toISOString() },
      { expectedRevision: current.revision },
    );
  });
  return {
    cas_update_p50_ms: round(percentile(run.latencies, 50)),
    cas_update_p99_ms: round(percentile(run.latencies, 99)),
  };
}

/** Claim + release pairs by `claimWorkers` workers, each on resources of its own. */
async function measureClaims(take: (resource: string, worker: number) => Promise<void>) {
  const resources = Array.from({ length: claimCount }, (_, index) => `incident:bench-${index % 200}`);
  const run = await runWriters(resources, claimWorkers, (resource, worker) =>
    take(`${resource}-${worker}`, worker),
  );
  return {
    claim_p50_ms: round(percentile(run.latencies, 50)),
    claim_p99_ms: round(percentile(run.latencies, 99)),
  };
}

/** The simplest alternative: a bare table, one autocommit INSERT per event, one plain connection per writer. */
async function naiveClients(schema: string): Promise<pg.Client[]> {
  const clients = await Promise.all(
    Array.from({ length: Math.max(writers, claimWorkers) }, async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      return client;
    }),
  );
  await clients[0]?.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".events (doc jsonb NOT NULL)`);
  return clients;
}

async function main(schemas: readonly [string, string]) {
  const dir = await mkdtemp(join(tmpdir(), "selfheal-bench-store-"));
  const file = fileStore({ dir });
  const postgres = await openPostgresStore({
    connectionString: databaseUrl,
    schema: schemas[0],
    poolSize: writers,
  });
  const clients = await naiveClients(schemas[1]);
  const client = (index: number) => clients[index] as pg.Client;
  try {
    const appends = await measureAppends([
      { label: "file", append: (events) => file.appendEvents(events) },
      { label: "postgres", append: (events) => postgres.appendEvents(events) },
      {
        label: "naive_postgres",
        append: (events, writer) =>
          client(writer).query(`INSERT INTO "${schemas[1]}".events (doc) VALUES ($1)`, [
            JSON.stringify(events[0]),
          ]),
      },
    ]);
    const fileBatched = await measureBatches(file, "file");
    const postgresBatched = await measureBatches(postgres, "postgres");
    await checkStored(file, "file");
    await checkStored(postgres, "postgres");
    const postgresClaims = await measureClaims(async (resource, worker) => {
      const claim = await postgres.claim(resource, `replica-${worker}`, 30_000);
      if (claim === undefined) throw new Error(`${resource} is held`);
      await postgres.releaseClaim(claim);
    });
    // Claims as session advisory locks: no expiry, no fencing token, lost with the connection.
    const naiveClaims = await measureClaims(async (resource, worker) => {
      const taken = await client(worker).query<{ ok: boolean }>(
        "SELECT pg_try_advisory_lock(hashtext($1)) AS ok",
        [resource],
      );
      if (taken.rows[0]?.ok !== true) throw new Error(`${resource} is held`);
      await client(worker).query("SELECT pg_advisory_unlock(hashtext($1))", [resource]);
    });
    // The file store serves one controller and has no claims: its nearest operation is the CAS update.
    const fileCas = await measureCasUpdates(file);
    const postgresCas = await measureCasUpdates(postgres);
    return {
      file: { ...appends.get("file"), batched_appends_per_s: fileBatched, claim_p99_ms: null, ...fileCas },
      postgres: {
        ...appends.get("postgres"),
        batched_appends_per_s: postgresBatched,
        ...postgresClaims,
        ...postgresCas,
      },
      naive_postgres: { ...appends.get("naive_postgres"), ...naiveClaims },
    };
  } finally {
    await Promise.all([file.close(), postgres.close(), ...clients.map((each) => each.end())]);
    await rm(dir, { recursive: true, force: true });
  }
}

async function dropSchemas(schemas: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

const suffix = `${process.pid}_${randomBytes(3).toString("hex")}`;
const schemas = [`selfheal_bench_${suffix}`, `selfheal_bench_naive_${suffix}`] as const;
const started = performance.now();
try {
  const figures = await main(schemas);
  console.log("file store (fsync, group commit):", figures.file);
  console.log("postgres store:", figures.postgres);
  console.log(
    "naive postgres (INSERT per event on its own connection, advisory locks):",
    figures.naive_postgres,
  );
  console.log(
    `${eventCount} events one per call (${rounds} rounds, median shown) and again in batches of ${batchSize}, ` +
      `${writers} writers; ${claimCount} claim+release (file store: CAS update) by ${claimWorkers} workers; ` +
      `${round((performance.now() - started) / 1000, 1)} s`,
  );
  console.log(JSON.stringify(figures));
} finally {
  await dropSchemas(schemas);
}
