import { SelfHealError, StoreFencedError } from "@selfheal/core";
import { sleep } from "@selfheal/core/internal";
import { makeEntry, makeEvent, makeSignal } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore } from "../src/index.js";
import { databaseUrl, dropSchemas, uniqueSchema } from "./helpers.js";

const schema = uniqueSchema();
let store: PostgresStore;

beforeAll(async () => {
  store = await openPostgresStore({ connectionString: databaseUrl, schema, poolSize: 4 });
});
afterAll(async () => {
  await store.close();
  await dropSchemas(schema);
});

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the call to reject");
    },
    (error: unknown) => error,
  );

/**
 * Claim `resource` for `owner` as soon as the current holder's claim lapsed: waits for that
 * (the database's clock decides), with a deadline generous enough for a loaded machine.
 */
async function claimOnceLapsed(resource: string, owner: string) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const taken = await store.claim(resource, owner, 60_000);
    if (taken !== undefined) return taken;
    if (Date.now() > deadline) throw new Error(`${resource} was never free for ${owner}`);
    await sleep(10);
  }
}

describe("claims", () => {
  it("takes, renews with the same token, refuses while held, and gives a larger token after expiry", async () => {
    // Held for a minute: a busy machine cannot let it lapse between the calls that need it held.
    const first = await store.claim("incident:a", "replica-1", 60_000);
    expect(first).toMatchObject({ resource: "incident:a", owner: "replica-1", token: 1 });
    const renewed = await store.claim("incident:a", "replica-1", 60_000);
    expect(renewed?.token).toBe(1);
    expect(Date.parse(renewed?.expiresAt ?? "")).toBeGreaterThan(Date.parse(first?.expiresAt ?? ""));
    expect(await store.claim("incident:a", "replica-2", 300)).toBeUndefined();

    // Renewed for 1 ms: it lapses, and the next owner gets the next token.
    expect((await store.claim("incident:a", "replica-1", 1))?.token).toBe(1);
    const taken = await claimOnceLapsed("incident:a", "replica-2");
    expect(taken).toMatchObject({ owner: "replica-2", token: 2 });
    expect(await store.claim("incident:a", "replica-1", 300)).toBeUndefined();
  });

  it("lets another owner take a released claim at once, with a larger token", async () => {
    const held = await store.claim("service:checkout", "replica-1", 60_000);
    if (held === undefined) throw new Error("not taken");
    await store.releaseClaim(held);
    // Releasing again, or releasing a claim no longer held, does nothing.
    await store.releaseClaim(held);
    const next = await store.claim("service:checkout", "replica-2", 60_000);
    expect(next?.token).toBe(held.token + 1);
    await store.releaseClaim(held);
    expect(await store.claim("service:checkout", "replica-1", 60_000)).toBeUndefined();
  });

  it("refuses a fenced update with a stale token and writes nothing; accepts the current one", async () => {
    const [outcome] = await store.ingest([makeEntry(makeSignal({ service: "fenced" }))]);
    const incident = outcome?.incident;
    if (incident === undefined) throw new Error("no incident");
    const resource = `incident:${incident.id}`;
    const old = await store.claim(resource, "replica-1", 100);
    if (old === undefined) throw new Error("not taken");
    const current = await claimOnceLapsed(resource, "replica-2");
    expect(current.token).toBeGreaterThan(old.token);

    const event = makeEvent({ type: "incident.state", incidentId: incident.id, service: "fenced" });
    const error = await rejection(
      store.updateIncident(
        { ...incident, state: "acting" },
        { expectedRevision: 1, events: [event], fence: old },
      ),
    );
    expect(error).toBeInstanceOf(StoreFencedError);
    expect(SelfHealError.isInstance(error) && error.adapter).toBe("postgres");
    expect((error as StoreFencedError).retryable).toBe(false);
    expect(await store.getIncident(incident.id)).toEqual(incident);
    expect(await store.listEvents({ types: ["incident.state"] })).toEqual([]);

    const updated = await store.updateIncident(
      { ...incident, state: "acting" },
      { expectedRevision: 1, events: [event], fence: current },
    );
    expect(updated.revision).toBe(2);
    expect((await store.listEvents({ types: ["incident.state"] })).map((e) => e.id)).toEqual([event.id]);
  });

  it("refuses a fence whose claim expired, or that was never taken", async () => {
    const [outcome] = await store.ingest([makeEntry(makeSignal({ service: "lapsed" }))]);
    const incident = outcome?.incident;
    if (incident === undefined) throw new Error("no incident");
    const claim = await store.claim(`incident:${incident.id}`, "replica-1", 50);
    if (claim === undefined) throw new Error("not taken");
    await sleep(100);
    const lapsed = await rejection(store.updateIncident(incident, { expectedRevision: 1, fence: claim }));
    expect(lapsed).toBeInstanceOf(StoreFencedError);
    const never = await rejection(
      store.updateIncident(incident, { expectedRevision: 1, fence: { ...claim, resource: "incident:none" } }),
    );
    expect(never).toBeInstanceOf(StoreFencedError);
    expect((await store.getIncident(incident.id))?.revision).toBe(1);
  });
});
