import { StoreConflictError, StoreError } from "@selfheal/core";
import { makeEntry, makeEvent, makeSignal } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore } from "../src/index.js";
import { databaseUrl, dropSchemas, uniqueSchema } from "./helpers.js";

const schema = uniqueSchema();
let store: PostgresStore;

beforeAll(async () => {
  store = await openPostgresStore({ connectionString: databaseUrl, schema, poolSize: 6 });
});
afterAll(async () => {
  await store.close();
  await dropSchemas(schema);
});

describe("races within one store", () => {
  it("never loses an update to a signal folded at the same moment, nor the signal to the update", async () => {
    for (let round = 0; round < 15; round++) {
      const service = `race-${round}`;
      const [opened] = await store.ingest([
        makeEntry(makeSignal({ service, fingerprint: "aaaa000000000001" })),
      ]);
      const incident = opened?.incident;
      if (incident === undefined) throw new Error("no incident");
      const [folded, updated] = await Promise.allSettled([
        store.ingest([makeEntry(makeSignal({ service, fingerprint: "aaaa000000000002" }))]),
        store.updateIncident({ ...incident, state: "deciding" }, { expectedRevision: 1 }),
      ]);
      expect(folded.status).toBe("fulfilled");
      const stored = await store.getIncident(incident.id);
      expect(stored).toMatchObject({ signalCount: 2, firing: ["aaaa000000000001", "aaaa000000000002"] });
      if (updated.status === "fulfilled") {
        // The update went first; the signal folded into the updated incident.
        expect(stored).toMatchObject({ state: "deciding", revision: 3 });
      } else {
        expect(updated.reason).toBeInstanceOf(StoreConflictError);
        expect(stored).toMatchObject({ state: "received", revision: 2 });
      }
    }
  });

  it("appends concurrent calls together, and one call's bad event fails that call alone", async () => {
    const good = Array.from({ length: 30 }, (_, index) =>
      makeEvent({ type: "notification.sent", service: "group", message: `good ${index}` }),
    );
    const bad = makeEvent({ type: "notification.sent", service: "group", at: "not a time" });
    const results = await Promise.allSettled([
      ...good.slice(0, 15).map((event) => store.appendEvents([event])),
      store.appendEvents([bad]),
      ...good.slice(15).map((event) => store.appendEvents([event])),
    ]);
    const rejected = results.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toBeInstanceOf(StoreError);
    expect((rejected[0] as StoreError).message).toContain("not a time");
    const stored = await store.listEvents({ service: "group" });
    expect(stored.map((event) => event.id).sort()).toEqual(good.map((event) => event.id).sort());
  });
});
