// A PostgreSQL connection killed mid-transaction (`pg_terminate_backend`, as a failover or an
// operator does) under a running controller: the transaction, which had already written rows,
// is rolled back by the server and retried by the store; nothing is half-written or doubled,
// and the store keeps working, also after its idle connections are killed.
import { createController, silentLogger } from "@selfheal/core";
import { makeSignal, recordingRemediator, staticPolicy } from "@selfheal/core/testing";
import pg from "pg";
import { afterEach, expect, it, vi } from "vitest";
import { openPostgresStore } from "../src/index.js";
import { databaseUrl, dropSchemas, query, uniqueSchema } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it("a connection killed mid-transaction is survived: the write is retried whole, nothing half-written", async () => {
  const schema = uniqueSchema();
  // Our own pool, under a name of its own, so only its connections are looked up and killed.
  const applicationName = `selfheal_kill_${schema.slice(-8)}`;
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4, application_name: applicationName });
  const poolErrors: Error[] = [];
  pool.on("error", (error) => poolErrors.push(error));
  cleanups.push(
    () => dropSchemas(schema),
    () => pool.end(),
  );
  const store = await openPostgresStore({ pool, schema });
  const remediator = recordingRemediator({ failOnDoubleApply: true });
  const controller = createController({
    store,
    policy: staticPolicy({ action: "rollback", reason: "errors", params: {} }),
    remediate: remediator,
    logger: silentLogger,
    guardrails: { cooldown: 0, rateLimit: false },
  });
  cleanups.push(() => controller.close({ timeout: 1000 }));

  // Hold the audit events table: the ingest transaction writes its incident rows, then waits here.
  const locker = new pg.Client({ connectionString: databaseUrl });
  await locker.connect();
  cleanups.push(() => locker.end());
  await locker.query("BEGIN");
  await locker.query(`LOCK TABLE "${schema}".audit_events IN ACCESS EXCLUSIVE MODE`);

  const handling = controller.handle([makeSignal({ service: "checkout", alertname: "HighErrorRate" })]);
  const waiting = async () =>
    query<{ pid: number; wrote: boolean }>(
      `SELECT pid, backend_xid IS NOT NULL AS wrote FROM pg_stat_activity
        WHERE application_name = $1 AND wait_event_type = 'Lock' AND query LIKE '%audit_events%'`,
      [applicationName],
    );
  let blocked: { pid: number; wrote: boolean } | undefined;
  await vi.waitFor(
    async () => {
      [blocked] = await waiting();
      expect(blocked).toBeDefined();
    },
    { timeout: 20_000, interval: 50 },
  );
  // It is mid-transaction with rows written (it has a transaction id): a half-done write.
  expect(blocked?.wrote).toBe(true);
  const [killed] = await query<{ killed: boolean }>("SELECT pg_terminate_backend($1) AS killed", [
    blocked?.pid,
  ]);
  expect(killed?.killed).toBe(true);
  await vi.waitFor(
    async () =>
      expect(await query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [blocked?.pid])).toHaveLength(0),
    { timeout: 20_000, interval: 50 },
  );
  await locker.query("ROLLBACK");

  const [outcome] = await handling;
  expect(outcome?.disposition).toBe("opened");
  await controller.settled();

  const count = async (table: string, where = "TRUE") =>
    Number(
      (await query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".${table} WHERE ${where}`))[0]?.n,
    );
  expect(await count("incidents")).toBe(1);
  expect(await count("signals_seen")).toBe(1);
  expect(await count("audit_events", "type = 'signal.received'")).toBe(1);
  expect(await count("audit_events", "type = 'incident.opened'")).toBe(1);
  const [incident] = await store.listIncidents();
  expect(incident?.state).toBe("resolved");
  expect(remediator.applies).toHaveLength(1);

  // Every idle connection of the pool killed too: the store still works.
  await query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [
    applicationName,
  ]);
  expect(await store.ready()).toBe(true);
  await controller.handle([makeSignal({ service: "payments", alertname: "HighErrorRate" })]);
  await controller.settled();
  expect((await store.listIncidents()).map((i) => [i.service, i.state]).sort()).toEqual([
    ["checkout", "resolved"],
    ["payments", "resolved"],
  ]);
  expect(remediator.applies).toHaveLength(2);
});
