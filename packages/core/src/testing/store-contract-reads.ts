import { beforeEach, describe, expect, it } from "vitest";
import type { AuditEvent } from "../spec/audit-event.js";
import type { Incident, IncidentState } from "../spec/incident.js";
import type { Store } from "../spec/store.js";
import { makeEvent, makeSignal } from "./fixtures.js";
import { at, type ContractSubject, contractHelpers, epoch } from "./store-contract-helpers.js";

/** The contract of the reads: the queries, the actions read from the audit trail, and copies. */
export function describeReads(subject: ContractSubject): void {
  const { ingestOne, open, stored } = contractHelpers(subject);
  // In a describe of its own, so this runs after the suite's setup whatever the hook order.
  describe("reads", () => {
    let store: Store;
    beforeEach(() => {
      store = subject.store;
    });

    describe("listIncidents", () => {
      const place = async (service: string, alertname: string, openedAt: string, state: IncidentState) => {
        const incident = await open(makeSignal({ service, alertname }));
        return store.updateIncident(
          { ...incident, openedAt, state },
          { expectedRevision: incident.revision },
        );
      };
      const ids = async (query?: Parameters<Store["listIncidents"]>[0]) =>
        (await store.listIncidents(query)).map((incident) => incident.id);

      it("filters by open, service, states, since and until, newest first, up to the limit", async () => {
        const a = await place("checkout", "HighErrorRate", at(1), "received");
        const b = await place("checkout", "HighLatency", at(2), "escalated");
        const c = await place("payments", "HighErrorRate", at(3), "acting");
        const d = await place("payments", "DiskFull", at(4), "resolved");

        expect(await store.listIncidents()).toEqual([d, c, b, a]);
        expect(await ids({ open: true })).toEqual([c.id, a.id]);
        expect(await ids({ open: false })).toEqual([d.id, b.id]);
        expect(await ids({ service: "checkout" })).toEqual([b.id, a.id]);
        expect(await ids({ states: ["escalated", "acting"] })).toEqual([c.id, b.id]);
        expect(await ids({ since: at(2) })).toEqual([d.id, c.id, b.id]);
        expect(await ids({ until: at(3) })).toEqual([b.id, a.id]);
        expect(await ids({ since: at(2), until: at(4) })).toEqual([c.id, b.id]);
        expect(await ids({ limit: 2 })).toEqual([d.id, c.id]);
        expect(await ids({ service: "payments", open: true })).toEqual([c.id]);
        expect(await ids({ open: false, limit: 1 })).toEqual([d.id]);
        expect(await ids({ service: "nobody" })).toEqual([]);
      });
    });

    describe("listEvents", () => {
      it("filters by incident, service, types, since and until, oldest first", async () => {
        const e1 = makeEvent({ type: "incident.state", at: at(1), incidentId: "i-1", service: "checkout" });
        const e2 = makeEvent({
          type: "remediation.started",
          at: at(2),
          incidentId: "i-2",
          service: "payments",
        });
        const e3 = makeEvent({
          type: "remediation.failed",
          at: at(3),
          incidentId: "i-1",
          service: "checkout",
        });
        const e4 = makeEvent({ type: "notification.sent", at: at(4), service: "payments" });
        const e5 = makeEvent({ type: "circuit.opened", at: at(5), data: { reason: "failures" } });
        // Out of time order, over several writes: reads still come oldest first.
        await store.appendEvents([e3, e1]);
        await store.appendEvents([e5]);
        await store.appendEvents([e2, e4]);
        const ids = async (query?: Parameters<Store["listEvents"]>[0]) =>
          (await store.listEvents(query)).map((event) => event.id);

        expect(await store.listEvents()).toEqual([e1, e2, e3, e4, e5]);
        expect(await ids({ incidentId: "i-1" })).toEqual([e1.id, e3.id]);
        expect(await ids({ service: "payments" })).toEqual([e2.id, e4.id]);
        expect(await ids({ types: ["remediation.started", "remediation.failed"] })).toEqual([e2.id, e3.id]);
        expect(await ids({ since: at(2) })).toEqual([e2.id, e3.id, e4.id, e5.id]);
        expect(await ids({ until: at(4) })).toEqual([e1.id, e2.id, e3.id]);
        expect(await ids({ since: at(2), until: at(4) })).toEqual([e2.id, e3.id]);
        expect(await ids({ service: "checkout", types: ["remediation.failed"] })).toEqual([e3.id]);
        expect(await ids({ incidentId: "i-1", since: at(2) })).toEqual([e3.id]);
        expect(await ids({ incidentId: "i-1", service: "payments" })).toEqual([]);
        expect(await ids({ incidentId: "nobody" })).toEqual([]);
        expect(await ids({ incidentIds: ["i-1", "i-2"] })).toEqual([e1.id, e2.id, e3.id]);
        expect(await ids({ incidentIds: ["i-2"] })).toEqual([e2.id]);
        expect(await ids({ incidentIds: ["i-1", "nobody"], types: ["remediation.failed"] })).toEqual([e3.id]);
        expect(await ids({ incidentIds: ["i-1", "i-2"], since: at(2), until: at(3) })).toEqual([e2.id]);
        expect(await ids({ incidentIds: ["i-1", "i-2"], service: "payments" })).toEqual([e2.id]);
        expect(await ids({ incidentIds: ["i-2"], incidentId: "i-1" })).toEqual([]);
        expect(await ids({ incidentIds: [] })).toEqual([]);
      });

      it("does nothing for an empty append", async () => {
        await store.appendEvents([]);
        expect(await store.listEvents()).toEqual([]);
      });
    });

    describe("listActions", () => {
      const action = (incidentId: string, service: string, name: string, minute: number) => ({
        incidentId,
        service,
        action: name,
        idempotencyKey: `${incidentId}/${name}`,
        at: at(minute),
      });
      const event = (type: AuditEvent["type"], minute: number, fields: Partial<AuditEvent>) =>
        makeEvent({ type, ...fields, at: at(minute) });

      it("reads actions from the audit trail: started, planned in dry run, and how they ended", async () => {
        const pending = action("inc-1", "checkout", "rollback", 1);
        const failed = action("inc-2", "checkout", "scale_up", 2);
        const succeeded = action("inc-3", "payments", "rollback", 4);
        const dryRun = action("inc-4", "payments", "rollback", 6);
        await store.appendEvents([event("remediation.started", 1, pending)]);
        await store.appendEvents([
          event("remediation.started", 2, failed),
          event("verification.failed", 3, { incidentId: "inc-2", idempotencyKey: failed.idempotencyKey }),
        ]);
        await store.appendEvents([event("remediation.started", 4, succeeded)]);
        await store.appendEvents([
          event("incident.closed", 5, {
            incidentId: "inc-3",
            idempotencyKey: succeeded.idempotencyKey,
            data: { state: "resolved" },
          }),
          event("remediation.planned", 6, { ...dryRun, dryRun: true }),
          // Planned for real: not an action until it starts.
          event("remediation.planned", 7, action("inc-5", "payments", "rollback", 7)),
          // Started again (a retry after a restart): still the one action.
          event("remediation.started", 8, pending),
        ]);

        const all = [
          { ...dryRun, outcome: "dry_run" },
          { ...succeeded, outcome: "succeeded" },
          { ...failed, outcome: "failed" },
          { ...pending, outcome: "pending" },
        ];
        expect(await store.listActions({ since: epoch })).toEqual(all);
        expect(await store.listActions({ service: "checkout", since: epoch })).toEqual(all.slice(2));
        expect(await store.listActions({ since: at(2) })).toEqual(all.slice(0, 3));
        expect(await store.listActions({ service: "payments", since: at(5) })).toEqual(all.slice(0, 1));
        expect(await store.listActions({ service: "nobody", since: epoch })).toEqual([]);
      });

      it("keeps the first ending of an action", async () => {
        const started = action("inc-1", "checkout", "rollback", 1);
        await store.appendEvents([
          event("remediation.started", 1, started),
          event("remediation.failed", 2, { idempotencyKey: started.idempotencyKey }),
          event("incident.closed", 3, {
            idempotencyKey: started.idempotencyKey,
            data: { state: "resolved" },
          }),
        ]);
        expect(await store.listActions({ since: epoch })).toEqual([{ ...started, outcome: "failed" }]);
      });
    });

    describe("isolation", () => {
      it("returns copies: changing what a read returned does not change the store", async () => {
        const signal = makeSignal();
        const outcome = await ingestOne(signal);
        const id = outcome.incident?.id ?? "";
        const pristine = await stored(id);
        const mutate = (incident: Incident | undefined) => {
          if (incident === undefined) return;
          incident.state = "escalated";
          incident.labels.severity = "changed";
          incident.firing.push("changed");
        };
        mutate(outcome.incident);
        mutate((await ingestOne(signal)).incident); // a redelivery's incident
        mutate(await store.getIncident(id));
        for (const incident of await store.listIncidents()) mutate(incident);
        expect(await stored(id)).toEqual(pristine);

        const updated = await store.updateIncident(
          { ...pristine, state: "deciding" },
          { expectedRevision: 1 },
        );
        mutate(updated);
        expect(await stored(id)).toMatchObject({ state: "deciding", firing: pristine.firing });

        const events = await store.listEvents();
        const before = structuredClone(events);
        for (const event of events) {
          event.message = "changed";
          if (event.data !== undefined) event.data.dedupKey = "changed";
        }
        expect(await store.listEvents()).toEqual(before);

        const started = {
          incidentId: id,
          service: "checkout",
          action: "rollback",
          idempotencyKey: `${id}/rollback`,
        };
        await store.appendEvents([makeEvent({ type: "remediation.started", at: at(1), ...started })]);
        const [record] = await store.listActions({ since: epoch });
        if (record !== undefined) (record as { outcome: string }).outcome = "failed";
        expect((await store.listActions({ since: epoch }))[0]?.outcome).toBe("pending");
      });

      it("keeps its own copy of events and incidents it was given", async () => {
        const incident = await open();
        const event = makeEvent({ type: "incident.state", incidentId: incident.id, data: { note: "kept" } });
        const next = { ...incident, state: "deciding" as const, labels: { ...incident.labels } };
        await store.updateIncident(next, { expectedRevision: 1, events: [event] });
        next.labels.severity = "changed";
        event.message = "changed";
        expect((await stored(incident.id)).labels.severity).toBe("critical");
        expect((await store.listEvents({ types: ["incident.state"] }))[0]?.message).not.toBe("changed");

        const appended = makeEvent({ type: "circuit.opened", data: { note: "kept" } });
        await store.appendEvents([appended]);
        appended.message = "changed";
        expect((await store.listEvents({ types: ["circuit.opened"] }))[0]?.message).not.toBe("changed");
      });
    });
  });
}
