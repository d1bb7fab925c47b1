import { makeEntry, makeEvent, makeSignal } from "@selfheal/core/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore } from "../src/index.js";
import { databaseUrl, dropSchemas, query, uniqueSchema } from "./helpers.js";

const schema = uniqueSchema();
let store: PostgresStore;

beforeAll(async () => {
  store = await openPostgresStore({ connectionString: databaseUrl, schema, poolSize: 2 });
});
afterAll(async () => {
  await store.close();
  await dropSchemas(schema);
});

describe("the seed's self_heal_actions view", () => {
  it("returns one row per recorded action, with its decision, change request and outcome", async () => {
    const [outcome] = await store.ingest([makeEntry(makeSignal())]);
    const incident = outcome?.incident;
    if (incident === undefined) throw new Error("no incident");
    const key = `${incident.id}/rollback`;
    const fields = { incidentId: incident.id, service: "checkout" };
    const decision = { action: "rollback", reason: "error rate 12% after deploy", params: {} };
    await store.updateIncident(
      { ...incident, state: "acting" },
      {
        expectedRevision: 1,
        events: [
          makeEvent({ type: "decision.made", ...fields, at: "2030-01-01T00:00:00.000Z", data: { decision } }),
          makeEvent({
            type: "remediation.started",
            ...fields,
            action: "rollback",
            idempotencyKey: key,
            at: "2030-01-01T00:01:00.000Z",
          }),
        ],
      },
    );
    let rows = await query<Record<string, unknown>>(`SELECT * FROM "${schema}".self_heal_actions`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      service: "checkout",
      action: "rollback",
      reason: decision.reason,
      decision,
      pr_url: null,
      success: null,
      outcome: "pending",
    });
    expect(rows[0]?.timestamp).toEqual(new Date("2030-01-01T00:01:00.000Z"));

    const url = "https://github.com/acme/config/pull/7";
    await store.appendEvents([
      makeEvent({
        type: "remediation.completed",
        ...fields,
        idempotencyKey: key,
        data: { result: { status: "applied", changeRequest: { id: "7", url, state: "open" } } },
      }),
      makeEvent({ type: "incident.closed", ...fields, idempotencyKey: key, data: { state: "resolved" } }),
    ]);
    rows = await query(`SELECT id, pr_url, success, outcome FROM "${schema}".self_heal_actions`);
    expect(rows).toEqual([{ id: "1", pr_url: url, success: true, outcome: "succeeded" }]);
  });
});

describe("quarantined versions", () => {
  it("adds, lists only what is still quarantined, keeps the later end, and expires", async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 1000).toISOString();
    const added = await store.quarantine.add({
      service: "checkout",
      image: "shop/checkout:1.4.2",
      until: later,
      incidentId: "i-1",
    });
    expect(added).toMatchObject({
      service: "checkout",
      image: "shop/checkout:1.4.2",
      until: later,
      incidentId: "i-1",
    });
    await store.quarantine.add({ service: "checkout", image: "shop/checkout:1.4.2", until: past });
    await store.quarantine.add({ service: "checkout", image: "shop/checkout:1.3.0", until: past });
    await store.quarantine.add({ service: "payments", image: "shop/payments:2.0.0", until: later });

    expect(
      (await store.quarantine.list({ service: "checkout" })).map((entry) => [entry.image, entry.until]),
    ).toEqual([["shop/checkout:1.4.2", later]]);
    expect((await store.quarantine.list()).map((entry) => entry.service)).toEqual(["checkout", "payments"]);
    expect(await store.quarantine.expire({ service: "checkout", image: "shop/checkout:1.4.2" })).toBe(1);
    expect(await store.quarantine.list({ service: "checkout" })).toEqual([]);
    expect(await store.quarantine.expire({ service: "payments" })).toBe(1);
    expect(await store.quarantine.list()).toEqual([]);
  });
});

describe("indexes", () => {
  it("serve the reads made before every decision and the audit queries", async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    const usedIndexes = async (sql: string): Promise<string> => {
      const result = await client.query<{ "QUERY PLAN": unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`);
      return JSON.stringify(result.rows[0]?.["QUERY PLAN"]);
    };
    try {
      // Tables this small are read whole unless told otherwise: ask which index a large one would use.
      await client.query("SET enable_seqscan = off");
      const t = `"${schema}"`;
      expect(
        await usedIndexes(`SELECT * FROM ${t}.actions WHERE service = 'x' AND at >= now() ORDER BY at DESC`),
      ).toContain("actions_service_at");
      expect(
        await usedIndexes(`SELECT doc FROM ${t}.audit_events WHERE incident_id = 'i' ORDER BY at, seq`),
      ).toContain("audit_events_incident");
      expect(
        await usedIndexes(`SELECT doc FROM ${t}.audit_events WHERE service = 's' ORDER BY at, seq`),
      ).toContain("audit_events_service");
      expect(
        await usedIndexes(`SELECT doc FROM ${t}.audit_events WHERE at >= now() ORDER BY at, seq`),
      ).toContain("audit_events_at");
      expect(
        await usedIndexes(
          `SELECT doc FROM ${t}.incidents WHERE state <> ALL('{resolved,suppressed,escalated,cancelled,no_action}') ORDER BY opened_at DESC`,
        ),
      ).toContain("incidents_open_states");
    } finally {
      await client.end();
    }
  });
});
