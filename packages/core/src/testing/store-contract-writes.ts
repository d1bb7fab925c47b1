import { beforeEach, describe, expect, it } from "vitest";
import { SelfHealError, StoreConflictError } from "../errors/selfheal-error.js";
import type { AuditEvent } from "../spec/audit-event.js";
import type { IncidentState } from "../spec/incident.js";
import type { Store } from "../spec/store.js";
import { rule } from "./contract-check.js";
import { makeEntry, makeEvent, makeSignal } from "./fixtures.js";
import { at, type ContractSubject, contractHelpers, rejection } from "./store-contract-helpers.js";

/** The contract of the writes: `ingest` (folding, deduplication) and `updateIncident` (compare-and-set). */
export function describeWrites(subject: ContractSubject): void {
  const { ingestOne, open, stored, eventTypes, eventIds } = contractHelpers(subject);
  // In a describe of its own, so this runs after the suite's setup whatever the hook order.
  describe("writes", () => {
    let store: Store;
    beforeEach(() => {
      store = subject.store;
    });

    describe("ingest", () => {
      it("opens an incident at revision 1 and records signal.received and incident.opened", async () => {
        const signal = makeSignal();
        const entry = makeEntry(signal);
        const outcomes = await store.ingest([entry]);
        expect(outcomes.map((outcome) => outcome.disposition)).toEqual(["opened"]);
        const incident = outcomes[0]?.incident;
        expect(incident).toMatchObject({
          id: entry.newIncidentId,
          key: "checkout/HighErrorRate",
          service: "checkout",
          alertname: "HighErrorRate",
          state: "received",
          revision: 1,
          labels: signal.labels,
          annotations: signal.annotations,
          fingerprint: signal.fingerprint,
          startsAt: signal.startsAt,
          firing: [signal.fingerprint],
          signalCount: 1,
        });
        expect(incident?.resolvedAt).toBeUndefined();
        expect(await store.getIncident(entry.newIncidentId)).toEqual(incident);
        expect(await store.listIncidents()).toEqual([incident]);
        const events = await store.listEvents({ incidentId: entry.newIncidentId });
        expect(events.map((event) => event.type)).toEqual(["signal.received", "incident.opened"]);
        expect(events[0]).toMatchObject({
          incidentId: entry.newIncidentId,
          service: "checkout",
          actor: "test",
          data: { dedupKey: signal.dedupKey, status: "firing", fingerprint: signal.fingerprint },
        });
        expect(new Set(events.map((event) => event.id)).size).toBe(2);
      });

      it("records a delivery seen before as a duplicate that changes nothing", async () => {
        const signal = makeSignal();
        const first = await open(signal);
        const again = await ingestOne(signal);
        expect(again.disposition).toBe("duplicate");
        expect(again.incident?.id).toBe(first.id);
        expect(await store.listIncidents()).toEqual([first]);
        expect(await eventTypes(first.id)).toEqual(["signal.received", "incident.opened"]);
      });

      it("opens one incident when the same delivery is ingested concurrently", async () => {
        const entry = makeEntry(makeSignal());
        const results = await Promise.all([
          store.ingest([entry]),
          store.ingest([entry]),
          store.ingest([entry]),
        ]);
        const dispositions = results.flat().map((outcome) => outcome.disposition);
        expect(dispositions.sort()).toEqual(["duplicate", "duplicate", "opened"]);
        const incidents = await store.listIncidents();
        expect(incidents).toHaveLength(1);
        expect(incidents[0]).toMatchObject({ id: entry.newIncidentId, signalCount: 1, revision: 1 });
        expect(await eventTypes(entry.newIncidentId)).toEqual(["signal.received", "incident.opened"]);
      });

      it("records the same delivery twice in one batch once", async () => {
        const entry = makeEntry(makeSignal());
        const outcomes = await store.ingest([entry, entry]);
        expect(outcomes.map((outcome) => outcome.disposition)).toEqual(["opened", "duplicate"]);
        expect(outcomes[1]?.incident?.id).toBe(entry.newIncidentId);
        const incidents = await store.listIncidents();
        expect(incidents).toHaveLength(1);
        expect(incidents[0]).toMatchObject({ signalCount: 1, revision: 1 });
      });

      it("folds a new firing signal with the same key into the open incident", async () => {
        const first = await open(makeSignal({ fingerprint: "aaaa000000000001" }));
        const second = makeSignal({ fingerprint: "aaaa000000000002" });
        const outcome = await ingestOne(second);
        expect(outcome.disposition).toBe("folded");
        expect(outcome.incident).toMatchObject({
          id: first.id,
          revision: 2,
          signalCount: 2,
          firing: ["aaaa000000000001", "aaaa000000000002"],
        });
        expect(await stored(first.id)).toEqual(outcome.incident);
        expect(await store.listIncidents()).toHaveLength(1);
        expect(await eventTypes(first.id)).toEqual(["signal.received", "incident.opened", "signal.received"]);
      });

      it("folds signals of one batch into each other", async () => {
        const a = makeEntry(makeSignal({ fingerprint: "aaaa000000000001" }));
        const b = makeEntry(makeSignal({ fingerprint: "aaaa000000000002" }));
        const outcomes = await store.ingest([a, b]);
        expect(outcomes.map((outcome) => outcome.disposition)).toEqual(["opened", "folded"]);
        expect(outcomes[1]?.incident).toMatchObject({ id: a.newIncidentId, revision: 2, signalCount: 2 });
        expect(await stored(a.newIncidentId)).toEqual(outcomes[1]?.incident);
      });

      it("removes a resolved alert from the firing set and marks the incident resolved when none is left", async () => {
        const incident = await open(makeSignal({ fingerprint: "aaaa000000000001" }));
        await ingestOne(makeSignal({ fingerprint: "aaaa000000000002" }));
        const one = await ingestOne(makeSignal({ fingerprint: "aaaa000000000001", status: "resolved" }));
        expect(one.disposition).toBe("folded");
        expect(one.incident).toMatchObject({ firing: ["aaaa000000000002"], revision: 3, signalCount: 3 });
        expect(one.incident?.resolvedAt).toBeUndefined();

        const all = await ingestOne(makeSignal({ fingerprint: "aaaa000000000002", status: "resolved" }));
        expect(all.incident).toMatchObject({ id: incident.id, firing: [], revision: 4 });
        expect(
          Number.isNaN(Date.parse(all.incident?.resolvedAt ?? "")),
          rule("a resolved incident carries a resolvedAt timestamp"),
        ).toBe(false);
        expect(await stored(incident.id)).toEqual(all.incident);
        // Resolution is a fact for the controller to act on; the incident stays open until it does.
        expect((await store.listIncidents({ open: true })).map((incident) => incident.id)).toEqual([
          incident.id,
        ]);

        const refired = await ingestOne(makeSignal({ fingerprint: "aaaa000000000001", startsAt: at(1) }));
        expect(refired.incident).toMatchObject({ firing: ["aaaa000000000001"], revision: 5 });
        expect(refired.incident?.resolvedAt).toBeUndefined();
      });

      it("records a resolved signal with no open incident as unmatched", async () => {
        const signal = makeSignal({ status: "resolved" });
        const outcome = await ingestOne(signal);
        expect(outcome).toEqual({ disposition: "unmatched" });
        expect(await store.listIncidents()).toEqual([]);
        const received = await store.listEvents({ types: ["signal.received"] });
        expect(received).toHaveLength(1);
        expect(received[0]?.incidentId).toBeUndefined();
        expect(received[0]?.data?.dedupKey).toBe(signal.dedupKey);

        const again = await ingestOne(signal);
        expect(again.disposition).toBe("duplicate");
        expect(again.incident).toBeUndefined();
        expect(await store.listEvents({ types: ["signal.received"] })).toHaveLength(1);
      });

      it("opens a new incident for a firing signal once the incident of its key is closed", async () => {
        const first = await open(makeSignal());
        const closed = await store.updateIncident(
          { ...first, state: "resolved", closedAt: at(1) },
          { expectedRevision: first.revision },
        );
        const signal = makeSignal({ startsAt: at(2) });
        const outcome = await ingestOne(signal);
        expect(outcome.disposition).toBe("opened");
        expect(outcome.incident?.id).toBe(makeEntry(signal).newIncidentId);
        expect(outcome.incident?.id).not.toBe(first.id);
        expect(outcome.incident).toMatchObject({ revision: 1, signalCount: 1, state: "received" });
        expect((await store.listIncidents({ open: true })).map((incident) => incident.id)).toEqual([
          outcome.incident?.id,
        ]);
        expect(await stored(first.id)).toEqual(closed);

        // A late redelivery of the first signal is still that signal: it reopens nothing.
        const late = await ingestOne(makeSignal());
        expect(late.disposition).toBe("duplicate");
        expect(await store.listIncidents()).toHaveLength(2);
      });
      it("folds a signal that was already firing when its incident closed into that incident (same episode)", async () => {
        const first = await open(makeSignal());
        await store.updateIncident(
          { ...first, state: "escalated", closedAt: at(5) },
          { expectedRevision: first.revision },
        );
        const otherPod = makeSignal({ fingerprint: "0000000000000002", startsAt: at(4) });
        const outcome = await ingestOne(otherPod);
        expect(outcome.disposition).toBe("folded");
        expect(outcome.incident).toMatchObject({ id: first.id, state: "escalated", signalCount: 2 });
        expect(await store.listIncidents()).toHaveLength(1);
      });
    });

    describe("updateIncident", () => {
      it("replaces the incident at the expected revision, bumps it by one and appends the events", async () => {
        const incident = await open();
        const event = makeEvent({
          type: "incident.state",
          incidentId: incident.id,
          service: "checkout",
          at: at(1),
        });
        const updated = await store.updateIncident(
          { ...incident, state: "deciding", updatedAt: at(1) },
          { expectedRevision: 1, events: [event] },
        );
        expect(updated).toEqual({ ...incident, state: "deciding", updatedAt: at(1), revision: 2 });
        expect(await stored(incident.id)).toEqual(updated);
        expect(await store.listEvents({ types: ["incident.state"] })).toEqual([event]);

        const again = await store.updateIncident({ ...updated, state: "acting" }, { expectedRevision: 2 });
        expect(again.revision).toBe(3);
        expect((await stored(incident.id)).state).toBe("acting");
      });

      it("rejects a stale revision with a StoreConflictError and writes nothing", async () => {
        const incident = await open();
        const current = await store.updateIncident(
          { ...incident, state: "deciding" },
          { expectedRevision: 1 },
        );
        const events = await eventIds();
        const stale = makeEvent({ type: "incident.state", incidentId: incident.id, service: "checkout" });
        const error = await rejection(
          store.updateIncident({ ...incident, state: "escalated" }, { expectedRevision: 1, events: [stale] }),
        );
        expect(error).toBeInstanceOf(StoreConflictError);
        expect(SelfHealError.isInstance(error), rule("a store's conflict is a SelfHealError")).toBe(true);
        expect(await stored(incident.id)).toEqual(current);
        expect(await eventIds()).toEqual(events);
      });

      it("rejects an update of an incident that does not exist and writes nothing", async () => {
        const incident = { ...(await open()), id: "nope-0000000000" };
        const events = await eventIds();
        const error = await rejection(
          store.updateIncident(incident, {
            expectedRevision: 1,
            events: [makeEvent({ type: "incident.state", incidentId: incident.id })],
          }),
        );
        expect(error).toBeInstanceOf(StoreConflictError);
        expect(await store.getIncident(incident.id)).toBeUndefined();
        expect(await eventIds()).toEqual(events);
      });

      it("lets exactly one of two concurrent updates at the same revision win", async () => {
        const incident = await open();
        const attempts: [IncidentState, AuditEvent][] = [
          ["deciding", makeEvent({ type: "incident.state", incidentId: incident.id, message: "a" })],
          ["escalated", makeEvent({ type: "incident.closed", incidentId: incident.id, message: "b" })],
        ];
        const results = await Promise.allSettled(
          attempts.map(([state, event]) =>
            store.updateIncident({ ...incident, state }, { expectedRevision: 1, events: [event] }),
          ),
        );
        const winners = results.flatMap((result, index) => (result.status === "fulfilled" ? [index] : []));
        expect(winners).toHaveLength(1);
        const winner = winners[0] as number;
        const loser = results[1 - winner];
        expect(loser?.status === "rejected" ? loser.reason : undefined).toBeInstanceOf(StoreConflictError);
        const [state, event] = attempts[winner] as [IncidentState, AuditEvent];
        expect(await stored(incident.id)).toMatchObject({ state, revision: 2 });
        const ids = await eventIds();
        expect(ids).toContain(event.id);
        expect(ids).not.toContain(attempts[1 - winner]?.[1].id);
      });
    });
  });
}
