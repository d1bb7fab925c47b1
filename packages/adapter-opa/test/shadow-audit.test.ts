import { builtinPolicy, createController, memoryStore, silentLogger } from "@selfheal/core";
import { makeSignal, recordingRemediator, staticPolicy } from "@selfheal/core/testing";
import { expect, it } from "vitest";
import { recordShadowDecisions, shadowPolicy } from "../src/index.js";

it("records both decisions in the incident's audit trail and acts on the active one only", async () => {
  const store = memoryStore();
  const remediator = recordingRemediator();
  const policy = shadowPolicy({
    active: builtinPolicy(),
    candidate: staticPolicy({ action: "rollback", reason: "candidate rolls back everything" }, "candidate"),
    onShadowDecision: recordShadowDecisions(store),
  });
  const controller = createController({ store, policy, remediate: remediator, logger: silentLogger });
  try {
    // HighErrorRate with no metrics: the built-in policy escalates without acting.
    await controller.handle([makeSignal({ service: "checkout" })]);
    await controller.settled();
    await policy.drain();
    const [incident] = await store.listIncidents();
    const [shadow] = await store.listEvents({ types: ["decision.shadow"] });
    expect(shadow).toMatchObject({
      incidentId: incident?.id,
      service: "checkout",
      data: {
        agree: false,
        active: { policy: "builtin", action: "none" },
        candidate: { policy: "candidate", action: "rollback" },
      },
    });
    expect(remediator.sideEffects).toEqual([]);
  } finally {
    await controller.close({ timeout: 1000 });
  }
});
