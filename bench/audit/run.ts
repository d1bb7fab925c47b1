// bench/audit: a year of a busy fleet's audit trail. Fills a PostgreSQL store (a schema of its
// own, dropped after) and a file store (a temporary folder), then times `selfheal audit --since
// 30d`, `--service X`, `selfheal audit --readiness` (the whole year) and a controller's start-up
// on each, in a child process (bench/audit/measure).
// The simplest alternative, in the same run: the ledger read as it was, one `listEvents` per
// incident (N+1), for the same 30 days. Prints one JSON object as its last line.
//
//   BENCH_EVENTS (default 1000000)      audit events in PostgreSQL
//   BENCH_FILE_EVENTS (default 200000)  audit events in the file store
//   BENCH_SERVICES (default 500)        services of the fleet
//   BENCH_EXPLAIN=1                     also print EXPLAIN ANALYZE of the ledger's queries
//   BENCH_PG_URL                        default postgres://postgres@127.0.0.1:5432/test
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { auditChain, chainTypes, openFileStore } from "@selfheal/core";
import { openPostgresStore } from "@selfheal/store-postgres";
import pg from "pg";
import { loadFile, loadPostgres } from "./load.js";

const pgEvents = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const fileEvents = Number(process.env.BENCH_FILE_EVENTS ?? 200_000);
const services = Number(process.env.BENCH_SERVICES ?? 500);
const databaseUrl = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const open = 20;
const service = "svc-042";
const measureScript = join(import.meta.dirname, "measure.js");

async function measure(args: readonly string[]): Promise<Record<string, number | boolean>> {
  const { stdout } = await promisify(execFile)(process.execPath, [measureScript, ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as Record<string, number | boolean>;
}

/** The ledger of 30 days as it was read before: one `listEvents` round trip per incident. */
async function naiveMonth(schema: string): Promise<number> {
  const store = await openPostgresStore({ connectionString: databaseUrl, schema });
  try {
    const started = performance.now();
    const since = new Date(Date.now() - 30 * 86_400_000).toISOString();
    for (const incident of await store.listIncidents({ since })) {
      auditChain(incident, await store.listEvents({ incidentId: incident.id }));
    }
    return Math.round(performance.now() - started);
  } finally {
    await store.close();
  }
}

async function explain(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const q = `"${schema}"`;
    const since = new Date(Date.now() - 30 * 86_400_000).toISOString();
    const ids = await client.query<{ id: string }>(
      `SELECT id FROM ${q}.incidents WHERE opened_at >= $1 ORDER BY opened_at, created_seq LIMIT 2000`,
      [since],
    );
    const plans: [string, string, unknown[]][] = [
      [
        "incidents of 30 days",
        `SELECT doc FROM ${q}.incidents WHERE opened_at >= $1::timestamptz ORDER BY opened_at DESC, created_seq`,
        [since],
      ],
      [
        "chain events of 2,000 incidents (from the first one's opening, less an hour)",
        `SELECT doc FROM ${q}.audit_events
          WHERE incident_id = ANY($1::text[]) AND type = ANY($2::text[]) AND at >= $3::timestamptz
          ORDER BY at, seq`,
        [
          ids.rows.map((row) => row.id),
          [...chainTypes],
          new Date(Date.parse(since) - 3_600_000).toISOString(),
        ],
      ],
      [
        "incidents of one service",
        `SELECT doc FROM ${q}.incidents WHERE service = $1 ORDER BY opened_at DESC, created_seq`,
        [service],
      ],
      [
        "open incidents (start-up)",
        `SELECT doc FROM ${q}.incidents WHERE state <> ALL($1::text[]) ORDER BY opened_at DESC, created_seq`,
        [["resolved", "suppressed", "escalated", "cancelled", "no_action"]],
      ],
      [
        "circuit breaker events of one service",
        `SELECT doc FROM ${q}.audit_events WHERE service = $1 AND type = ANY($2::text[]) ORDER BY at, seq`,
        [service, ["verification.failed", "circuit.reset", "circuit.opened"]],
      ],
    ];
    for (const [title, sql, values] of plans) {
      const plan = await client.query<{ "QUERY PLAN": string }>(
        `EXPLAIN (ANALYZE, BUFFERS OFF) ${sql}`,
        values,
      );
      console.log(`-- ${title}\n${plan.rows.map((row) => row["QUERY PLAN"]).join("\n")}\n`);
    }
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const schema = `bench_audit_${process.pid}_${randomBytes(3).toString("hex")}`;
  const dir = await mkdtemp(join(tmpdir(), "selfheal-bench-audit-"));
  const end = new Date();
  try {
    const pgLoad = await loadPostgres(databaseUrl, schema, {
      services,
      events: pgEvents,
      days: 365,
      end,
      open,
    });
    console.log(
      `postgres: ${pgLoad.incidents} incidents, ${pgLoad.events} events loaded in ${pgLoad.seconds.toFixed(1)} s`,
    );
    const fileLoad = await loadFile(dir, { services, events: fileEvents, days: 365, end, open });
    console.log(
      `file: ${fileLoad.incidents} incidents, ${fileLoad.events} events written in ${fileLoad.seconds.toFixed(1)} s`,
    );
    // Open once: a journal that large is compacted into a snapshot, as a running controller's
    // store would have done along the way. The start-up measured is then the steady state's.
    await (await openFileStore(dir)).close();
    if (process.env.BENCH_EXPLAIN === "1") await explain(schema);
    const naive = await naiveMonth(schema);
    console.log(`naive (one listEvents per incident) 30 days: ${naive} ms`);
    const pgArgs = ["pg", databaseUrl, schema, service];
    const fileArgs = ["file", dir, service];
    const pgAudit = await measure(["audit", ...pgArgs]);
    const pgReadiness = await measure(["readiness", ...pgArgs]);
    const pgStart = await measure(["startup", ...pgArgs]);
    const fileAudit = await measure(["audit", ...fileArgs]);
    const fileReadiness = await measure(["readiness", ...fileArgs]);
    const fileStart = await measure(["startup", ...fileArgs]);
    const all = { pgAudit, pgReadiness, pgStart, fileAudit, fileReadiness, fileStart };
    for (const [label, figures] of Object.entries(all)) console.log(`${label}: ${JSON.stringify(figures)}`);
    const rss = {
      pg_audit: pgAudit.rss_mb,
      pg_readiness: pgReadiness.rss_mb,
      pg_startup: pgStart.rss_mb,
      file_audit: fileAudit.rss_mb,
      file_readiness: fileReadiness.rss_mb,
      file_startup: fileStart.rss_mb,
    };
    const targets = { audit_ms: 1_000, startup_ms: 2_000, rss_mb: 300 };
    const summary = {
      benchmark: "audit",
      pg_events: pgLoad.events,
      pg_incidents: pgLoad.incidents,
      file_events: fileLoad.events,
      services,
      pg_audit_30d_ms: pgAudit.audit_30d_ms,
      pg_audit_30d_incidents: pgAudit.audit_30d_incidents,
      pg_audit_service_ms: pgAudit.audit_service_ms,
      pg_audit_service_incidents: pgAudit.audit_service_incidents,
      naive_pg_audit_30d_ms: naive,
      file_audit_30d_ms: fileAudit.audit_30d_ms,
      file_audit_service_ms: fileAudit.audit_service_ms,
      file_startup_ms: fileStart.startup_ms,
      pg_startup_ms: pgStart.startup_ms,
      resumed: { pg: pgStart.resumed, file: fileStart.resumed },
      rss_mb: Math.max(...Object.values(rss).map(Number)),
      rss_mb_by_process: rss,
      pg_readiness_ms: pgReadiness.readiness_ms,
      file_readiness_ms: fileReadiness.readiness_ms,
      readiness_services: { pg: pgReadiness.readiness_services, file: fileReadiness.readiness_services },
      targets,
    };
    const met =
      Number(pgAudit.audit_30d_ms) <= targets.audit_ms &&
      Number(pgAudit.audit_service_ms) <= targets.audit_ms &&
      Number(pgReadiness.readiness_ms) <= targets.audit_ms &&
      Number(fileReadiness.readiness_ms) <= targets.audit_ms &&
      Number(fileStart.startup_ms) <= targets.startup_ms &&
      Number(pgStart.startup_ms) <= targets.startup_ms &&
      pgStart.ready === true &&
      fileStart.ready === true &&
      pgStart.still_open === 0 &&
      fileStart.still_open === 0 &&
      summary.rss_mb <= targets.rss_mb;
    console.log(JSON.stringify({ ...summary, met }));
  } finally {
    await rm(dir, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
}

await main();
