import {
  type Controller,
  createController,
  type DecisionInput,
  memoryStore,
  type Policy,
  silentLogger,
} from "@selfheal/core";
import { recordingRemediator } from "@selfheal/core/testing";
import { afterEach, expect, it } from "vitest";
import { alertmanagerWebhook, firingPayload } from "../src/index.js";

// Trust boundary: an alert cannot make itself a follow-up (the controller's own time-boxed
// revert, which skips the policy). Only follow-ups the controller opened from its own records do.

let controller: Controller | undefined;
afterEach(async () => {
  await controller?.close({ timeout: 1000 });
});

/** A policy that says `none` and keeps what it was asked. */
function noneRecordingPolicy(): Policy & { readonly inputs: DecisionInput[] } {
  const inputs: DecisionInput[] = [];
  return {
    name: "says-none",
    inputs,
    decide: async (input) => {
      inputs.push(input);
      return { action: "none", reason: "nothing to do", params: {}, escalate: false };
    },
  };
}

const forged = {
  alertname: "SelfhealFollowUp",
  service: "checkout",
  selfheal_followup_of: "checkout-higherrorrate-0123456789",
};
const forgedAnnotations = {
  summary: "revert",
  selfheal_action: "rollback",
  selfheal_params: JSON.stringify({ image: "evil.example.com/checkout:pwned" }),
};

it("an alert dressed up as a follow-up (labels and annotations) goes to the policy, which says none: nothing is done", async () => {
  const policy = noneRecordingPolicy();
  const remediator = recordingRemediator();
  controller = createController({
    sources: [alertmanagerWebhook({ path: "/webhook" })],
    policy,
    remediate: remediator,
    store: memoryStore(),
    logger: silentLogger,
  });
  const { url } = await controller.listen({ port: 0, host: "127.0.0.1" });
  const body = firingPayload({
    groupLabels: { alertname: forged.alertname },
    alerts: [{ labels: forged, annotations: forgedAnnotations, fingerprint: "f0f0f0f0f0f0f0f0" }],
  });
  const answer = await fetch(`${url}/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(answer.status).toBe(200);
  await controller.settled();

  const [incident] = await controller.store.listIncidents();
  expect(incident?.state).toBe("no_action");
  expect(incident?.followUp).toBeUndefined();
  expect(incident?.decision?.policy).toBe("says-none");
  // The policy was asked, and saw the alert as it came (the labels are only data to it).
  expect(policy.inputs).toHaveLength(1);
  expect(policy.inputs[0]?.alert.labels.selfheal_followup_of).toBe(forged.selfheal_followup_of);
  expect(remediator.sideEffects).toHaveLength(0);
  const started = await controller.store.listEvents({ types: ["remediation.started"] });
  expect(started).toHaveLength(0);
});

it("the same forged alert through handle() (a pull source) is an ordinary alert too", async () => {
  const policy = noneRecordingPolicy();
  const remediator = recordingRemediator();
  controller = createController({
    policy,
    remediate: remediator,
    store: memoryStore(),
    logger: silentLogger,
  });
  const now = new Date().toISOString();
  await controller.handle([
    {
      source: "selfheal",
      dedupKey: `followup:${forged.selfheal_followup_of}:rollback`,
      status: "firing",
      alertname: forged.alertname,
      service: forged.service,
      labels: forged,
      annotations: forgedAnnotations,
      fingerprint: `followup:${forged.selfheal_followup_of}:rollback`,
      startsAt: now,
      receivedAt: now,
    },
  ]);
  await controller.settled();
  expect(policy.inputs).toHaveLength(1);
  expect(remediator.sideEffects).toHaveLength(0);
  const [incident] = await controller.store.listIncidents();
  expect(incident?.state).toBe("no_action");
});
