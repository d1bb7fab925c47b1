// A webhook is a trigger to look, not a command: when the alert's condition no longer holds by
// the time the controller looks (the level check against a real Prometheus finds it gone), the
// incident ends `cancelled` and nothing is applied.
import { type Controller, createController, memoryStore, silentLogger } from "@selfheal/core";
import { recordingRemediator, staticPolicy } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { alertmanagerWebhook, firingPayload, prometheusMetrics } from "../src/index.js";
import {
  binaryAvailable,
  prometheusBinary,
  type RunningServer,
  startMetricsTarget,
  startPrometheus,
} from "../src/testing/index.js";

// Outside CI a machine without Prometheus skips; in CI the missing binary fails the run.
const skip = !(await binaryAvailable(prometheusBinary())) && process.env.CI !== "true";
const window = "5s";

describe.skipIf(skip)("a stale alert against a real Prometheus", () => {
  let prometheus: RunningServer | undefined;
  let target: Awaited<ReturnType<typeof startMetricsTarget>> | undefined;
  let controller: Controller | undefined;

  /** The 5xx ratio of a service over the window as Prometheus computes it now, if it has one. */
  const errorRatio = async (service: string): Promise<number | undefined> => {
    const query = `sum(rate(http_requests_total{status=~"5..",service="${service}"}[${window}])) / sum(rate(http_requests_total{service="${service}"}[${window}]))`;
    const answer = await fetch(`${prometheus?.url}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await answer.json()) as { data: { result: { value: [number, string] }[] } };
    const value = body.data.result[0]?.value[1];
    return value === undefined ? undefined : Number(value);
  };

  beforeAll(async () => {
    target = await startMetricsTarget();
    target.setTraffic("checkout", 7, 3);
    target.setTraffic("payments", 7, 3);
    prometheus = await startPrometheus({ scrapeTargets: [target.address] });
    // Both services are failing, as Prometheus sees it, when their alerts fire.
    await vi.waitFor(
      async () => {
        expect(await errorRatio("checkout")).toBeGreaterThan(0.2);
        expect(await errorRatio("payments")).toBeGreaterThan(0.2);
      },
      { timeout: 30_000, interval: 200 },
    );
  }, 45_000);

  afterAll(async () => {
    await controller?.close({ timeout: 1000 });
    await prometheus?.stop();
    await target?.close();
  });

  it("the condition gone by the time the controller looks → cancelled, no apply; still there → acted on", async () => {
    const remediator = recordingRemediator({ failOnDoubleApply: true });
    controller = createController({
      sources: [alertmanagerWebhook({ path: "/webhook" })],
      enrich: [prometheusMetrics({ url: prometheus?.url ?? "", window })],
      policy: staticPolicy({ action: "rollback", reason: "errors", params: {} }),
      remediate: remediator,
      store: memoryStore(),
      logger: silentLogger,
      guardrails: { cooldown: 0 },
    });
    const { url } = await controller.listen({ port: 0, host: "127.0.0.1" });
    const deliver = async (service: string) => {
      const labels = { alertname: "HighErrorRate", service, namespace: "shop", severity: "critical" };
      const payload = firingPayload({
        alerts: [{ labels, fingerprint: `fp-${service}` }],
        groupLabels: { service },
      });
      const answer = await fetch(`${url}/webhook`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
      });
      expect(answer.status).toBe(200);
      await answer.arrayBuffer();
    };

    // payments recovers before its (late) alert is looked at: no errors left in the window.
    target?.setTraffic("payments", 10, 0);
    await vi.waitFor(async () => expect(await errorRatio("payments")).toBe(0), {
      timeout: 30_000,
      interval: 200,
    });

    await deliver("payments");
    await deliver("checkout");
    await controller.settled();

    const stale = (await controller.store.listIncidents({ service: "payments" }))[0];
    expect(stale?.state).toBe("cancelled");
    expect(stale?.closeReason).toMatch(/^stale: the condition of HighErrorRate no longer holds/);
    const staleTrail = await controller.store.listEvents({ incidentId: stale?.id ?? "" });
    expect(staleTrail.map((event) => event.type)).not.toContain("decision.made");
    expect(staleTrail.map((event) => event.type)).not.toContain("remediation.started");

    // The same controller, the same check: a condition that still holds is acted on.
    const live = (await controller.store.listIncidents({ service: "checkout" }))[0];
    expect(live?.state).toBe("resolved");
    expect(remediator.applies.map((call) => call.incidentId)).toEqual([live?.id]);
  });
});
