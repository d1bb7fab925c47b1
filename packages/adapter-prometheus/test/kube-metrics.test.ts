import type { Incident } from "@selfheal/core";
import { makeDecisionInput, makeVerifyingIncident } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prometheusMetrics } from "../src/index.js";
import {
  binaryAvailable,
  prometheusBinary,
  type RunningServer,
  startMetricsTarget,
  startPrometheus,
} from "../src/testing/index.js";

// The default queries against the label sets kube-state-metrics and cAdvisor really have
// (namespace, pod, container; no service label), with alerts that carry no namespace label.
const skip = !(await binaryAvailable(prometheusBinary())) && process.env.CI !== "true";
const signal = () => AbortSignal.timeout(20_000);

function alert(service: string, alertname: string, labels: Record<string, string> = {}): Incident {
  return makeVerifyingIncident({
    service,
    alertname,
    labels: { alertname, service, severity: "critical", ...labels },
  });
}

describe.skipIf(skip)("default queries on kube-state-metrics and cAdvisor series", () => {
  let prometheus: RunningServer | undefined;
  let target: Awaited<ReturnType<typeof startMetricsTarget>> | undefined;
  const enrich = (incident: Incident) =>
    prometheusMetrics({
      url: prometheus?.url ?? "http://127.0.0.1:1",
      window: "5s",
      levelCheck: false,
    }).enrich({
      incident,
      input: makeDecisionInput(),
      signal: signal(),
    });

  beforeAll(async () => {
    target = await startMetricsTarget();
    target.setTraffic("checkout", 7, 3);
    for (const pod of ["checkout-7d4b9-abcde", "checkout-7d4b9-fghij"]) {
      target.setContainer({
        namespace: "shop",
        pod,
        container: "checkout",
        restartsPerS: 1,
        cpuPerS: 0.45,
        cpuLimit: 0.5,
      });
      // The sidecar restarts and burns CPU too: it must not count for checkout.
      target.setContainer({
        namespace: "shop",
        pod,
        container: "envoy",
        restartsPerS: 5,
        cpuPerS: 2,
        cpuLimit: 0.1,
      });
    }
    target.setContainer({
      namespace: "other",
      pod: "x-1",
      container: "ledger",
      restartsPerS: 0,
      cpuPerS: 0.1,
      cpuLimit: 1,
    });
    prometheus = await startPrometheus({ scrapeTargets: [target.address] });
    // increase() and rate() need two scrapes inside the window.
    for (let tries = 0; tries < 100; tries += 1) {
      const found = await enrich(alert("checkout", "HighErrorRate"));
      if (Object.keys(found.metrics ?? {}).length === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 45_000);

  afterAll(async () => {
    await prometheus?.stop();
    await target?.close();
  });

  it("reads restarts and CPU of the service's container for an alert without a namespace label", async () => {
    const found = await enrich(alert("checkout", "HighErrorRate"));
    expect(found.warnings).toBeUndefined();
    expect(found.unknown).toBeUndefined();
    expect(found.metrics?.error_rate).toBeGreaterThan(0.2);
    // Known, not only rendered. Prometheus extrapolates rates over a short window of a young
    // series, so values are compared with what counting the sidecar would give, not exactly.
    expect(found.metrics?.restart_count).toBeGreaterThan(0);
    // 0.9 of a 1.0 limit for checkout's containers; with the sidecar's 20 cores over 0.2 it
    // would be 17 times that.
    expect(found.metrics?.cpu_usage).toBeGreaterThan(0);
    expect(found.metrics?.cpu_usage).toBeLessThan(1.2);
    const queries = (found.facts as { queries: Record<string, { query: string }> }).queries;
    expect(queries.restart_count?.query).not.toContain("namespace");
    expect(queries.restart_count?.query).toContain('{container="checkout"}');
  });

  it("narrows to the alert's namespace when the alert has one", async () => {
    const inShop = await enrich(alert("checkout", "HighCPU", { namespace: "shop" }));
    expect(inShop.metrics?.cpu_usage).toBeGreaterThan(0);
    const elsewhere = await enrich(alert("checkout", "HighCPU", { namespace: "payments" }));
    expect(elsewhere.metrics).not.toHaveProperty("cpu_usage");
    expect(elsewhere.unknown?.cpu_usage).toBe("its query returned no series");
  });

  it("says which query could not be rendered and why when a required label is missing", async () => {
    const found = await prometheusMetrics({
      url: prometheus?.url ?? "http://127.0.0.1:1",
      window: "5s",
      levelCheck: false,
      queries: {
        restart_count:
          'sum(increase(kube_pod_container_status_restarts_total{namespace="{{labels.namespace}}",container="{{service}}"}[{{window}}]))',
      },
    }).enrich({ incident: alert("checkout", "HighErrorRate"), input: makeDecisionInput(), signal: signal() });
    expect(found.metrics).not.toHaveProperty("restart_count");
    expect(found.unknown?.restart_count).toBe(
      "its query was not run: it needs labels.namespace, which the alert does not have (set the label on the alert rule, or make the matcher optional: {{labels.namespace?}})",
    );
  });
});
