// The controller is down while a real Alertmanager tries to deliver: Alertmanager retries, and
// once the controller listens on that port the alert is delivered, opened and handled: nothing
// lost, nothing done twice.
import { type Controller, createController, memoryStore, silentLogger } from "@selfheal/core";
import { recordingRemediator, staticPolicy } from "@selfheal/core/testing";
import { afterAll, describe, expect, it, vi } from "vitest";
import { alertmanagerWebhook } from "../src/index.js";
import {
  alertmanagerBinary,
  binaryAvailable,
  freePort,
  type RunningServer,
  startAlertmanager,
} from "../src/testing/index.js";

// Outside CI a machine without Alertmanager skips; in CI the missing binary fails the run.
const skip = !(await binaryAvailable(alertmanagerBinary())) && process.env.CI !== "true";

/** The sum of a counter in Alertmanager's own /metrics, over the series with `integration="webhook"`. */
async function webhookCounter(alertmanager: RunningServer, name: string): Promise<number> {
  const text = await (await fetch(`${alertmanager.url}/metrics`)).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) && line.includes('integration="webhook"'))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}

describe.skipIf(skip)("a real Alertmanager retries while the controller is down", () => {
  let alertmanager: RunningServer | undefined;
  let controller: Controller | undefined;

  afterAll(async () => {
    await alertmanager?.stop();
    await controller?.close({ timeout: 1000 });
  });

  it("the alert posted while nothing listens is delivered, opened and handled once the controller starts", async () => {
    const port = await freePort();
    alertmanager = await startAlertmanager({
      webhookUrl: `http://127.0.0.1:${port}/webhook`,
      groupWait: "0s",
      groupInterval: "1s",
    });
    const labels = {
      alertname: "HighErrorRate",
      service: "checkout",
      namespace: "shop",
      severity: "critical",
    };
    const posted = await fetch(`${alertmanager.url}/api/v2/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify([
        {
          labels,
          annotations: { summary: "checkout error rate above 5%" },
          startsAt: new Date().toISOString(),
          endsAt: new Date(Date.now() + 3_600_000).toISOString(),
          generatorURL: "http://prometheus:9090/graph",
        },
      ]),
    });
    expect(posted.status).toBe(200);

    // Alertmanager tried, and failed: the controller is not there yet.
    const current = alertmanager;
    await vi.waitFor(
      async () =>
        expect(await webhookCounter(current, "alertmanager_notifications_failed_total")).toBeGreaterThan(0),
      { timeout: 20_000, interval: 100 },
    );

    const remediator = recordingRemediator({ failOnDoubleApply: true });
    controller = createController({
      sources: [alertmanagerWebhook({ path: "/webhook" })],
      policy: staticPolicy({ action: "rollback", reason: "errors", params: {} }),
      remediate: remediator,
      store: memoryStore(),
      logger: silentLogger,
      guardrails: { cooldown: 0 },
    });
    await controller.listen({ port, host: "127.0.0.1" });

    // Alertmanager's retry reaches it.
    const running = controller;
    await vi.waitFor(async () => expect(await running.store.listIncidents()).toHaveLength(1), {
      timeout: 30_000,
      interval: 100,
    });
    await running.settled();
    const [incident] = await running.store.listIncidents();
    expect(incident).toMatchObject({ service: "checkout", alertname: "HighErrorRate", state: "resolved" });
    expect(incident?.labels).toMatchObject(labels);
    expect(remediator.applies).toHaveLength(1);
    const received = await running.store.listEvents({ types: ["signal.received"] });
    expect(received.length).toBeGreaterThanOrEqual(1);
    expect(await webhookCounter(current, "alertmanager_notifications_total")).toBeGreaterThan(
      await webhookCounter(current, "alertmanager_notifications_failed_total"),
    );
  }, 60_000);
});
