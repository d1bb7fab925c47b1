import {
  auditChain,
  auditReport,
  createController,
  type EventQuery,
  type Store,
  silentLogger,
  type Verifier,
} from "@selfheal/core";
import { makeSignal, recordingRemediator, staticPolicy } from "@selfheal/core/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore } from "../src/index.js";
import { databaseUrl, dropSchemas, uniqueSchema } from "./helpers.js";

// The audit queries run on any Store: here the ledger a real controller wrote to PostgreSQL.
const schema = uniqueSchema();
let store: PostgresStore;

const verdict = (outcome: "passed" | "failed") => ({
  outcome,
  reason: `error rate ${outcome}`,
  observedAt: new Date().toISOString(),
});
const recovery: Verifier = {
  name: "recovery",
  async verify({ incident }) {
    return { verifier: "recovery", ...verdict(incident.service === "payments" ? "failed" : "passed") };
  },
};

beforeAll(async () => {
  store = await openPostgresStore({ connectionString: databaseUrl, schema });
  const controller = createController({
    store,
    policy: staticPolicy((input) =>
      input.service === "search"
        ? { action: "none", reason: "no rule" }
        : { action: "rollback", reason: "errors" },
    ),
    remediate: recordingRemediator(),
    verify: [recovery],
    guardrails: { cooldown: 0 },
    logger: silentLogger,
    claimTtl: "5s",
  });
  const startsAt = new Date(Date.now() - 30_000).toISOString();
  await controller.handle([
    makeSignal({ service: "checkout", startsAt }),
    makeSignal({ service: "payments", startsAt }),
    makeSignal({ service: "search", alertname: "HighCPU", startsAt }),
  ]);
  await controller.settled();
});

afterAll(async () => {
  await store.close();
  await dropSchemas(schema);
});

it("gives each incident its chain and MTTR, and per service the success rate", async () => {
  const report = await auditReport(store);
  const byService = new Map(report.incidents.map((incident) => [incident.service, incident]));
  expect(byService.get("checkout")).toMatchObject({ outcome: "resolved", action: "rollback" });
  expect(byService.get("checkout")?.chain.map((step) => step.stage)).toEqual([
    "signal",
    "decision",
    "change",
    "verification",
  ]);
  // MTTR from the controller's receipt; the 30 s the alert had fired before is its age.
  const checkout = byService.get("checkout");
  expect(checkout?.mttrMs).toBe(Date.parse(checkout?.closedAt ?? "") - Date.parse(checkout?.openedAt ?? ""));
  expect(checkout?.alertAgeMs).toBeGreaterThanOrEqual(30_000);
  expect(byService.get("payments")?.outcome).toBe("failed");
  expect(report.services.find((service) => service.service === "checkout")).toMatchObject({ successRate: 1 });
  expect(report.services.find((service) => service.service === "payments")).toMatchObject({ successRate: 0 });
});

it("filters by service, outcome and time", async () => {
  expect(
    (await auditReport(store, { service: "payments" })).incidents.map((incident) => incident.service),
  ).toEqual(["payments"]);
  expect(
    (await auditReport(store, { outcome: "no_action" })).incidents.map((incident) => incident.service),
  ).toEqual(["search"]);
  expect(
    (await auditReport(store, { since: new Date(Date.now() + 60_000).toISOString() })).incidents,
  ).toEqual([]);
});

it("reads the events of all its incidents in one call, with the chains one read per incident gives", async () => {
  const queries: EventQuery[] = [];
  const counting: Store = new Proxy(store, {
    get(target, property, receiver) {
      if (property !== "listEvents") return Reflect.get(target, property, receiver);
      return (query?: EventQuery) => {
        queries.push(query ?? {});
        return target.listEvents(query);
      };
    },
  });
  const report = await auditReport(counting);
  expect(report.incidents).toHaveLength(3);
  // One read for the chains of all incidents (the other one reads the rejected deliveries).
  const chainReads = queries.filter((query) => query.incidentIds !== undefined);
  expect(chainReads).toHaveLength(1);
  expect(chainReads[0]?.incidentIds).toHaveLength(3);
  expect(queries.filter((query) => query.incidentId !== undefined)).toEqual([]);
  for (const row of report.incidents) {
    const incident = await store.getIncident(row.id);
    if (incident === undefined) throw new Error(`incident ${row.id} missing`);
    expect(row.chain).toEqual(auditChain(incident, await store.listEvents({ incidentId: row.id })));
  }
});
