import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { alertmanagerWebhook } from "@selfheal/adapter-prometheus";
import { builtinPolicy, createController, memoryStore, silentLogger } from "@selfheal/core";
import { recordingRemediator, scriptedVerifier, staticEnricher } from "@selfheal/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";

const dashboardFile = new URL("../deploy/grafana/selfheal-dashboard.json", import.meta.url);
const examplePayloadFile = new URL(
  "../../../shared/contracts/alertmanager-webhook-example.json",
  import.meta.url,
);

// Only the parts of a Grafana dashboard this test reads.
const Target = z.object({ expr: z.string().optional(), refId: z.string() });
const Panel = z.object({
  title: z.string(),
  type: z.string(),
  datasource: z.object({ type: z.string(), uid: z.string() }).optional(),
  targets: z.array(Target).optional(),
});
const Dashboard = z.object({
  __inputs: z.array(z.object({ name: z.string(), type: z.string(), pluginId: z.string() })),
  schemaVersion: z.number(),
  title: z.string(),
  uid: z.string(),
  panels: z.array(Panel),
});
type Dashboard = z.infer<typeof Dashboard>;

async function loadDashboard(): Promise<Dashboard> {
  return Dashboard.parse(JSON.parse(await readFile(dashboardFile, "utf8")));
}

const keywords = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "inf",
  "nan",
]);

/**
 * Metric names in a PromQL expression. Not a full parser: it drops what cannot hold a metric
 * name (strings, label matchers, ranges, label lists after by/without/on/ignoring/group_*),
 * then keeps identifiers that are neither function calls, keywords nor numbers.
 */
export function metricNames(expression: string): string[] {
  const stripped = expression
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.$])([A-Za-z_:][\w:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (name === undefined || call !== undefined || keywords.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names].sort();
}

/** Sample names in a Prometheus text exposition (`name{labels} value`), without comments. */
function sampleNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split("\n")) {
    const name = /^([A-Za-z_:][\w:]*)[{ ]/.exec(line)?.[1];
    if (name !== undefined) names.add(name);
  }
  return names;
}

describe("metricNames", () => {
  it("finds metric names and skips functions, labels, ranges and grouping", () => {
    expect(
      metricNames(
        'histogram_quantile(0.9, sum by (le) (rate(selfheal_mttr_seconds_bucket{state="resolved"}[$__rate_interval])))',
      ),
    ).toEqual(["selfheal_mttr_seconds_bucket"]);
    expect(
      metricNames(
        "sum(increase(a_total[1h])) / ignoring(outcome) group_left sum(b_total) > bool 0.5 or on() vector(0)",
      ),
    ).toEqual(["a_total", "b_total"]);
  });
});

describe("the Grafana dashboard", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("is importable: a Prometheus datasource input, a recent schema, a query per panel", async () => {
    const dashboard = await loadDashboard();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(38);
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: "DS_PROMETHEUS", type: "datasource", pluginId: "prometheus" }),
    ]);
    const titles = dashboard.panels.map((panel) => panel.title.toLowerCase());
    for (const wanted of [
      "actions by outcome",
      "mttr",
      "success rate",
      "suppress",
      "open incidents",
      "signals",
    ]) {
      expect(titles.some((title) => title.includes(wanted))).toBe(true);
    }
    for (const panel of dashboard.panels.filter((panel) => panel.type !== "row")) {
      expect(panel.datasource).toEqual({ type: "prometheus", uid: `\${DS_PROMETHEUS}` });
      expect(panel.targets?.length ?? 0).toBeGreaterThan(0);
    }
  });

  it("queries only metrics a running controller exports", async () => {
    // A real controller with a real OpenTelemetry SDK and Prometheus exporter. The exporter's
    // own server listens on a fixed port (9464); its handler is mounted on a server on port 0
    // instead, so parallel test runs never collide.
    const exporter = new PrometheusExporter({ preventServerStart: true });
    const meterProvider = new MeterProvider({ readers: [exporter] });
    const metricsServer = createServer((req, res) => {
      if (req.url === "/metrics") exporter.getMetricsRequestHandler(req, res);
      else res.writeHead(404).end();
    });
    await listen(metricsServer);
    cleanups.push(
      () => meterProvider.shutdown(),
      () => close(metricsServer),
    );

    const token = "test-token-not-a-secret";
    const facts = staticEnricher({
      metrics: { error_rate: 0.3, restart_count: 5, cpu_usage: 0.95 },
      current_replicas: 2,
      max_replicas: 4,
      deployment: { previous_image: "registry.example.com/checkout:v1.1.0" },
    });
    const remediator = recordingRemediator();
    const controller = createController({
      sources: [alertmanagerWebhook({ auth: { bearer: token } })],
      // Metrics a Prometheus enricher would read: enough for the built-in policy to act on both
      // HighErrorRate (rollback) and HighCPU (scale up).
      // payments' metrics source is down: its decision fails and is retried (a decision failure).
      enrich: [
        {
          name: "prometheus",
          enrich: async (options) =>
            options.incident.service === "payments"
              ? { failures: ["error_rate: prometheus did not answer in 2000 ms"] }
              : facts.enrich(options),
        },
      ],
      policy: builtinPolicy(),
      remediate: remediator,
      verify: [scriptedVerifier(["passed"])],
      store: memoryStore(),
      logger: silentLogger,
      // One action per service: the second alert is suppressed, so the suppression counter has samples.
      guardrails: { rateLimit: { max: 1, window: "30m" }, cooldown: 0 },
      meterProvider,
    });
    const { url } = await controller.listen({ port: 0, host: "127.0.0.1" });
    cleanups.push(() => controller.close());

    const example = JSON.parse(await readFile(examplePayloadFile, "utf8")) as Record<string, unknown>;
    const highCpu = structuredClone(example);
    Object.assign(highCpu, {
      groupKey: '{}/{service="checkout"}:{alertname="HighCPU"}',
      groupLabels: { alertname: "HighCPU" },
      commonLabels: { alertname: "HighCPU", service: "checkout", severity: "warning" },
      alerts: [
        {
          status: "firing",
          labels: { alertname: "HighCPU", namespace: "shop", service: "checkout", severity: "warning" },
          annotations: {},
          startsAt: "2026-08-20T10:16:00.000Z",
          endsAt: "0001-01-01T00:00:00Z",
          generatorURL: "",
          fingerprint: "0123456789abcdef",
        },
      ],
    });
    const paymentsDown = structuredClone(example);
    Object.assign(paymentsDown, {
      groupKey: '{}/{service="payments"}:{alertname="HighErrorRate"}',
      groupLabels: { alertname: "HighErrorRate" },
      commonLabels: { alertname: "HighErrorRate", service: "payments", severity: "critical" },
      alerts: [
        {
          status: "firing",
          labels: { alertname: "HighErrorRate", service: "payments", severity: "critical" },
          annotations: {},
          startsAt: "2026-08-20T10:17:00.000Z",
          endsAt: "0001-01-01T00:00:00Z",
          generatorURL: "",
          fingerprint: "fedcba9876543210",
        },
      ],
    });
    // One malformed alert beside a valid one (rejected, the other taken), and a notification that
    // Alertmanager cut short (max_alerts): both are counted.
    const partly = structuredClone(paymentsDown);
    Object.assign(partly, {
      truncatedAlerts: 2,
      alerts: [
        ...(paymentsDown.alerts as unknown[]),
        {
          status: "firing",
          labels: { service: "payments" },
          startsAt: "2026-08-20T10:17:00.000Z",
          fingerprint: "0f",
        },
      ],
    });
    for (const payload of [example, highCpu, paymentsDown, partly]) {
      const response = await fetch(`${url}/webhook/alertmanager`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(payload),
      });
      expect(response.status).toBeLessThan(300);
      await controller.settled();
    }
    expect(remediator.sideEffects).toHaveLength(1);

    const { port } = metricsServer.address() as AddressInfo;
    const scrape = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(scrape.status).toBe(200);
    const text = await scrape.text();
    const exported = sampleNames(text);

    const dashboard = await loadDashboard();
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        const names = metricNames(target.expr ?? "");
        expect(names.length, `${panel.title} ${target.refId} names no metric`).toBeGreaterThan(0);
        for (const name of names) used.add(name);
      }
    }
    const missing = [...used].filter((name) => !exported.has(name));
    expect(missing, `exported: ${[...exported].sort().join(", ")}`).toEqual([]);
    // Every metric the controller exports is on the dashboard (histograms through their buckets).
    for (const name of exported) {
      if (!name.startsWith("selfheal_") || /_(sum|count)$/.test(name)) continue;
      expect(used.has(name), `${name} is not on the dashboard`).toBe(true);
    }
  });
});

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
