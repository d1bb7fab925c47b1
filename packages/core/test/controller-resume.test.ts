import { expect, it } from "vitest";
import { type AuditEvent, createController, memoryStore, type Store, silentLogger } from "../src/index.js";
import { makeEntry, recordingRemediator, staticPolicy } from "../src/testing/index.js";
import { alertSignal } from "./helpers.js";

// After an outage a controller resumes many incidents at once: their `controller.resumed` events
// go to the store in one write, not one durable write (an fsync, a commit) each.
it("records the resumption of every open incident in one write, and resumes each", async () => {
  const store = memoryStore();
  const services = ["checkout", "payments", "search"];
  for (const service of services) {
    const [outcome] = await store.ingest([makeEntry(alertSignal({ service, dedupKey: `d-${service}` }))]);
    const incident = outcome?.incident;
    if (incident === undefined) throw new Error(`no incident for ${service}`);
    await store.updateIncident({ ...incident, state: "deciding" }, { expectedRevision: incident.revision });
  }
  const writes: (readonly AuditEvent[])[] = [];
  const counting: Store = new Proxy(store, {
    get(target, property, receiver) {
      if (property !== "appendEvents") return Reflect.get(target, property, receiver);
      return (events: readonly AuditEvent[]) => {
        writes.push(events);
        return target.appendEvents(events);
      };
    },
  });
  const remediator = recordingRemediator();
  const controller = createController({
    store: counting,
    policy: staticPolicy({ action: "rollback", reason: "errors", params: {} }),
    remediate: remediator,
    guardrails: { cooldown: 0 },
    logger: silentLogger,
  });
  await controller.start();
  const resumptions = writes.filter((events) => events.some((event) => event.type === "controller.resumed"));
  expect(resumptions).toHaveLength(1);
  expect(resumptions[0]?.map((event) => [event.type, event.service]).sort()).toEqual(
    services.map((service) => ["controller.resumed", service]),
  );
  await controller.settled();
  expect(new Set(remediator.plans.map((plan) => plan.service))).toEqual(new Set(services));
  await controller.close();
});
