import { type DataPoint, type Histogram, MeterProvider, type MetricData } from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { expect, it } from "vitest";
import {
  BadInputError,
  createController,
  incidentIdGenerator,
  incidentTraceId,
  memoryStore,
  type SignalSource,
  silentLogger,
} from "../src/index.js";
import { recordingRemediator, scriptedVerifier, staticPolicy } from "../src/testing/index.js";
import { alertSignal } from "./helpers.js";
import { TestReader } from "./otel-reader.js";

it("a controller counts actions, suppressions and MTTR, and traces each stage", async () => {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const controller = createController({
    policy: staticPolicy({ action: "rollback", reason: "test", params: {} }),
    remediate: recordingRemediator(),
    verify: [scriptedVerifier(["passed"])],
    store: memoryStore(),
    logger: silentLogger,
    guardrails: { rateLimit: { max: 1, window: "30m" }, cooldown: 0 },
    meterProvider,
    tracerProvider,
  });
  await controller.handle([alertSignal({ alertname: "A" })]);
  await controller.settled();
  await controller.handle([alertSignal({ alertname: "B" })]);
  await controller.settled();
  await controller.close();

  const { resourceMetrics } = await reader.collect();
  const metrics = new Map<string, MetricData>();
  for (const scope of resourceMetrics.scopeMetrics)
    for (const metric of scope.metrics) metrics.set(metric.descriptor.name, metric);
  const values = (name: string) =>
    (metrics.get(name)?.dataPoints as DataPoint<number>[] | undefined)?.map((point) => [
      point.attributes,
      point.value,
    ]);
  expect(values("selfheal_actions_total")).toEqual([[{ action: "rollback", outcome: "succeeded" }, 1]]);
  expect(values("selfheal_suppressed_total")).toEqual([[{ reason: "rate_limit" }, 1]]);
  const mttr = metrics.get("selfheal_mttr_seconds")?.dataPoints[0] as DataPoint<Histogram> | undefined;
  expect(mttr?.value.count).toBe(1);
  expect(spans.getFinishedSpans().map((span) => span.name)).toEqual(
    expect.arrayContaining(["selfheal.decide", "selfheal.remediate", "selfheal.verify"]),
  );
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
});

it("one trace per incident: stage spans under a root span from opening to close, with the incident id generator", async () => {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    idGenerator: incidentIdGenerator(),
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  const store = memoryStore();
  const controller = createController({
    policy: staticPolicy({ action: "rollback", reason: "test", params: {} }),
    remediate: recordingRemediator(),
    verify: [scriptedVerifier(["passed"])],
    store,
    logger: silentLogger,
    tracerProvider,
  });
  await controller.handle([alertSignal({ alertname: "A" })]);
  await controller.handle([alertSignal({ alertname: "B", service: "payments" })]);
  await controller.settled();
  await controller.close();

  const incidents = await store.listIncidents({});
  expect(incidents.map((incident) => incident.state)).toEqual(["resolved", "resolved"]);
  const finished = spans.getFinishedSpans();
  for (const incident of incidents) {
    const traceId = incidentTraceId(incident.id);
    const mine = finished.filter((span) => span.spanContext().traceId === traceId);
    const root = mine.find((span) => span.name === "selfheal.incident");
    expect(root?.parentSpanContext).toBeUndefined();
    expect(root?.attributes).toMatchObject({
      "selfheal.incident": incident.id,
      "selfheal.alertname": incident.alertname,
      "selfheal.action": "rollback",
      "selfheal.state": "resolved",
    });
    expect(
      mine.filter((span) => span !== root).map((span) => [span.name, span.parentSpanContext?.spanId]),
    ).toEqual(
      expect.arrayContaining([
        ["selfheal.decide", root?.spanContext().spanId],
        ["selfheal.remediate", root?.spanContext().spanId],
        ["selfheal.verify", root?.spanContext().spanId],
      ]),
    );
    // The audit trail names the trace.
    const opened = (await store.listEvents({ incidentId: incident.id })).find(
      (event) => event.type === "incident.opened",
    );
    expect(opened?.data).toMatchObject({ traceId });
  }
  // The two incidents are two traces; a random span of the same provider is in neither.
  expect(new Set(finished.map((span) => span.spanContext().traceId)).size).toBe(2);
  await tracerProvider.shutdown();
});

it("without the incident id generator the stage spans still share the incident's trace, and no stray root is exported", async () => {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const store = memoryStore();
  const controller = createController({
    policy: staticPolicy({ action: "rollback", reason: "test", params: {} }),
    remediate: recordingRemediator(),
    store,
    logger: silentLogger,
    tracerProvider,
  });
  await controller.handle([alertSignal({ alertname: "A" })]);
  await controller.settled();
  await controller.close();
  const [incident] = await store.listIncidents({});
  const finished = spans.getFinishedSpans();
  expect(finished.map((span) => span.name)).not.toContain("selfheal.incident");
  expect(finished.length).toBeGreaterThan(0);
  expect(new Set(finished.map((span) => span.spanContext().traceId))).toEqual(
    new Set([incidentTraceId(incident?.id ?? "")]),
  );
  await tracerProvider.shutdown();
});

it("a controller counts rejected alerts, refused deliveries and alerts left out by the sender", async () => {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  // Two valid items and one without a name; the sender says it left 3 alerts out.
  const source: SignalSource = {
    name: "partial",
    route: {
      path: "/hook",
      parse(body, context) {
        const items = (body as { items?: unknown }).items;
        if (!Array.isArray(items)) throw new BadInputError("items must be an array", { path: "items" });
        const named = items.flatMap((item: { name?: unknown }, index) =>
          typeof item.name === "string" ? [{ name: item.name, index }] : [],
        );
        return {
          signals: named.map(({ name, index }) => ({
            ...alertSignal({ alertname: name, dedupKey: `d${index}` }),
            source: "partial",
            groupKey: "g",
            receivedAt: context.receivedAt.toISOString(),
            truncatedAlerts: 3,
          })),
          rejected: [{ index: 2, path: "items[2].name", reason: "missing name" }],
        };
      },
    },
  };
  const controller = createController({
    sources: [source],
    policy: staticPolicy({ action: "none", reason: "test" }),
    store: memoryStore(),
    logger: silentLogger,
    meterProvider,
  });
  const { url } = await controller.listen({ port: 0, host: "127.0.0.1" });
  const post = (body: string) =>
    fetch(`${url}/hook`, { method: "POST", headers: { "content-type": "application/json" }, body });
  expect((await post(JSON.stringify({ items: [{ name: "A" }, { name: "B" }, {}] }))).status).toBe(200);
  expect((await post(JSON.stringify({ items: 1 }))).status).toBe(400);
  await controller.settled();
  await controller.close();

  const { resourceMetrics } = await reader.collect();
  const points = (name: string) =>
    resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((metric) => metric.descriptor.name === name)
      ?.dataPoints.map((point) => [point.attributes, point.value]);
  // Counted once per delivery, not once per signal of it.
  expect(points("selfheal_truncated_alerts_total")).toEqual([[{ source: "partial" }, 3]]);
  expect(points("selfheal_signals_rejected_total")).toEqual([
    [{ source: "partial", scope: "item" }, 1],
    [{ source: "partial", scope: "delivery" }, 1],
  ]);
  await meterProvider.shutdown();
});
