// The webhook acknowledges a delivery once the signal is recorded, not once it is decided: a
// slow policy (OPA under load) must not hold Alertmanager's request, or it times out and
// retries while the controller is still deciding.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Controller,
  createController,
  type DecisionInput,
  fileStore,
  silentLogger,
} from "@selfheal/core";
import { recordingRemediator } from "@selfheal/core/testing";
import { afterEach, expect, it } from "vitest";
import { alertmanagerWebhook, firingPayload } from "../src/index.js";

let controller: Controller | undefined;
let folder: string | undefined;

afterEach(async () => {
  await controller?.close({ timeout: 1000 });
  if (folder !== undefined) await rm(folder, { recursive: true, force: true });
});

const labels = { alertname: "HighErrorRate", service: "checkout", namespace: "shop", severity: "critical" };

it("a delivery is answered 2xx while its decision is still pending; the decision completes after release", async () => {
  folder = await mkdtemp(join(tmpdir(), "selfheal-ack-"));
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const asked: DecisionInput[] = [];
  const remediator = recordingRemediator({ failOnDoubleApply: true });
  controller = createController({
    sources: [alertmanagerWebhook({ path: "/webhook" })],
    policy: {
      name: "held",
      async decide(input) {
        asked.push(input);
        await released;
        return { action: "rollback", reason: "released by the test", params: {} };
      },
    },
    policyTimeout: "10m",
    remediate: remediator,
    store: fileStore(folder),
    logger: silentLogger,
    guardrails: { cooldown: 0 },
  });
  const { url } = await controller.listen({ port: 0, host: "127.0.0.1" });

  // The policy cannot answer before `release`, so this answer came before the decision. An
  // acknowledgement that waited for the decision would never come: the request gives up.
  const answer = await fetch(`${url}/webhook`, {
    method: "POST",
    signal: AbortSignal.timeout(20_000),
    headers: { "content-type": "application/json" },
    body: JSON.stringify(
      firingPayload({
        alerts: [{ labels, fingerprint: "5c2a8e0f3b7d41a9" }],
        groupLabels: { service: "checkout" },
      }),
    ),
  });
  expect(answer.status).toBe(200);
  await answer.arrayBuffer();

  // Acknowledged means recorded: the incident and its signal are in the store already.
  const [incident] = await controller.store.listIncidents();
  expect(incident).toMatchObject({ service: "checkout", alertname: "HighErrorRate" });
  expect(["received", "deciding"]).toContain(incident?.state);
  expect(await controller.store.listEvents({ types: ["signal.received"] })).toHaveLength(1);
  expect(await controller.store.listEvents({ types: ["decision.made"] })).toHaveLength(0);
  expect(remediator.applies).toHaveLength(0);

  release();
  await controller.settled();
  expect(asked).toHaveLength(1);
  expect(asked[0]?.alert.labels).toMatchObject({ alertname: "HighErrorRate", service: "checkout" });
  const [decided] = await controller.store.listIncidents();
  expect(decided?.state).toBe("resolved");
  expect(decided?.decision).toMatchObject({ action: "rollback", policy: "held" });
  expect(remediator.applies).toHaveLength(1);
});
