import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreConflictError } from "../errors/selfheal-error.js";
import type { Store } from "../spec/store.js";
import { rule } from "./contract-check.js";
import { makeEntry, makeEvent, makeSignal } from "./fixtures.js";
import { at, type ContractSubject, contractHelpers, epoch, rejection } from "./store-contract-helpers.js";
import { describeReads } from "./store-contract-reads.js";
import { describeWrites } from "./store-contract-writes.js";

/** A store under test, as `testStoreContract` gets it. */
export interface StoreHarness {
  /** A store with nothing in it. */
  readonly store: Store;
  /**
   * Close the store and open it again on the same data. Give it for durable stores: the
   * contract then checks that everything survives a restart.
   */
  readonly reopen?: () => Promise<Store>;
  /** Remove what `setup` made (a folder, a schema). Runs after the store is closed. */
  readonly cleanup?: () => Promise<void>;
}

/**
 * The behaviour every `Store` must have: folding and deduplication of signals, compare-and-set
 * updates, the queries, the actions read from the audit trail, and (for stores that can
 * reopen) durability. Run it from your adapter's tests:
 *
 * ```ts
 * testStoreContract("postgres", async () => ({ store: postgresStore({ url }), cleanup: dropSchema }));
 * ```
 *
 * `setup` runs before every test and must give an empty store.
 */
export function testStoreContract(name: string, setup: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let harness: StoreHarness;
    let current: Store;
    const subject: ContractSubject = {
      name,
      get canReopen() {
        return harness.reopen !== undefined;
      },
      get store() {
        return current;
      },
      async reopen(skip) {
        if (harness.reopen === undefined) return skip(`${name} cannot reopen`);
        current = await harness.reopen();
        return current;
      },
    };

    beforeEach(async () => {
      harness = await setup();
      current = harness.store;
    });
    afterEach(async () => {
      await current.close();
      await harness.cleanup?.();
    });

    describeWrites(subject);
    describeReads(subject);

    it("is ready when open", async () => {
      if (current.ready !== undefined)
        expect(await current.ready(), rule("an open store is ready")).toBe(true);
    });

    describeDurability(subject);
  });
}

/** Everything survives close and reopen, for stores that can reopen. */
function describeDurability(subject: ContractSubject): void {
  const { ingestOne, open } = contractHelpers(subject);
  describe("durability", () => {
    let store: Store;
    beforeEach(() => {
      store = subject.store;
    });
    const reopen = async (skip: (note: string) => never) => {
      store = await subject.reopen(skip);
    };

    it("keeps incidents, seen deliveries, events and actions across close and reopen", async ({ skip }) => {
      if (!subject.canReopen) skip(`${subject.name} cannot reopen`);
      const first = makeSignal({ fingerprint: "aaaa000000000001" });
      const incident = await open(first);
      await ingestOne(makeSignal({ fingerprint: "aaaa000000000002" }));
      const other = await open(makeSignal({ service: "payments" }));
      await store.updateIncident(
        { ...other, state: "resolved", closedAt: at(3) },
        {
          expectedRevision: 1,
          events: [makeEvent({ type: "incident.closed", incidentId: other.id, data: { state: "resolved" } })],
        },
      );
      await ingestOne(makeSignal({ service: "search", status: "resolved" }));
      const started = { incidentId: incident.id, service: "checkout", action: "rollback" };
      await store.appendEvents([
        makeEvent({
          type: "remediation.started",
          at: at(1),
          idempotencyKey: `${incident.id}/rollback`,
          ...started,
        }),
      ]);
      const before = {
        incidents: await store.listIncidents(),
        events: await store.listEvents(),
        actions: await store.listActions({ since: epoch }),
      };

      await reopen(skip);
      expect({
        incidents: await store.listIncidents(),
        events: await store.listEvents(),
        actions: await store.listActions({ since: epoch }),
      }).toEqual(before);

      expect((await ingestOne(first)).disposition).toBe("duplicate");
      expect((await ingestOne(makeSignal({ service: "search", status: "resolved" }))).disposition).toBe(
        "duplicate",
      );
      const folded = await ingestOne(makeSignal({ fingerprint: "aaaa000000000003" }));
      expect(folded).toMatchObject({ disposition: "folded", incident: { id: incident.id, revision: 3 } });
      const error = await rejection(store.updateIncident({ ...incident }, { expectedRevision: 2 }));
      expect(error).toBeInstanceOf(StoreConflictError);
      expect((await store.updateIncident({ ...incident }, { expectedRevision: 3 })).revision).toBe(4);
    });

    it("keeps every write that resolved, from many concurrent callers", async ({ skip }) => {
      if (!subject.canReopen) skip(`${subject.name} cannot reopen`);
      const services = Array.from({ length: 20 }, (_, index) => `service-${index}`);
      const events = services.map((service, index) =>
        makeEvent({ type: "notification.sent", service, at: at(index) }),
      );
      await Promise.all([
        ...services.map((service) => store.ingest([makeEntry(makeSignal({ service }))])),
        ...events.map((event) => store.appendEvents([event])),
      ]);
      await reopen(skip);
      expect((await store.listIncidents()).map((incident) => incident.service).sort()).toEqual(
        [...services].sort(),
      );
      expect(await store.listEvents({ types: ["notification.sent"] })).toEqual(events);
    });
  });
}
