import { SpanStatusCode } from "@opentelemetry/api";
import {
  type DataPoint,
  DataPointType,
  type Histogram,
  MeterProvider,
  type MetricData,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { createInstruments, mttrBucketBoundaries } from "../src/index.js";
import { TestReader } from "./otel-reader.js";

const providers: { shutdown(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(providers.splice(0).map((provider) => provider.shutdown()));
});

function setup() {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  providers.push(meterProvider, tracerProvider);
  const instruments = createInstruments({ meterProvider, tracerProvider });

  async function collect(): Promise<Map<string, MetricData>> {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    const byName = new Map<string, MetricData>();
    for (const scope of resourceMetrics.scopeMetrics) {
      expect(scope.scope).toMatchObject({ name: "@selfheal/core", version: "0.1.0" });
      for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
    }
    return byName;
  }
  return { instruments, spans, collect };
}

/** Data points as `{ attributes, value }`, sorted for stable comparison. */
function points(metric: MetricData | undefined): { attributes: unknown; value: unknown }[] {
  if (metric === undefined) throw new Error("metric not found");
  return (metric.dataPoints as DataPoint<unknown>[])
    .map((point) => ({ attributes: point.attributes, value: point.value }))
    .sort((a, b) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes)));
}

describe("createInstruments: metrics", () => {
  it("counts actions, suppressions, incidents and signals with their attributes", async () => {
    const { instruments, collect } = setup();

    instruments.actionFinished("rollback", "succeeded");
    instruments.actionFinished("rollback", "succeeded");
    instruments.actionFinished("scale_up", "dry_run");
    instruments.suppressed("cooldown");
    instruments.suppressed("cooldown");
    instruments.suppressed("kill_switch");
    instruments.incidentClosed("resolved", 42);
    instruments.incidentClosed("escalated");
    instruments.signalReceived("alertmanager", "opened");
    instruments.signalReceived("alertmanager", "duplicate");
    instruments.signalReceived("alertmanager", "duplicate");

    const metrics = await collect();

    const actions = metrics.get("selfheal_actions_total");
    expect(actions?.dataPointType).toBe(DataPointType.SUM);
    expect(actions?.descriptor).toMatchObject({ unit: "{action}", description: expect.stringMatching(/\w/) });
    expect(points(actions)).toEqual([
      { attributes: { action: "rollback", outcome: "succeeded" }, value: 2 },
      { attributes: { action: "scale_up", outcome: "dry_run" }, value: 1 },
    ]);
    expect(points(metrics.get("selfheal_suppressed_total"))).toEqual([
      { attributes: { reason: "cooldown" }, value: 2 },
      { attributes: { reason: "kill_switch" }, value: 1 },
    ]);
    expect(points(metrics.get("selfheal_incidents_total"))).toEqual([
      { attributes: { state: "escalated" }, value: 1 },
      { attributes: { state: "resolved" }, value: 1 },
    ]);
    expect(points(metrics.get("selfheal_signals_total"))).toEqual([
      { attributes: { disposition: "duplicate", source: "alertmanager" }, value: 2 },
      { attributes: { disposition: "opened", source: "alertmanager" }, value: 1 },
    ]);
    for (const metric of metrics.values()) {
      expect(metric.descriptor.description, metric.descriptor.name).not.toBe("");
    }
  });

  it("records time to resolution in a histogram with 1 s..1 h buckets", async () => {
    const { instruments, collect } = setup();

    instruments.incidentClosed("resolved", 42);
    instruments.incidentClosed("resolved", 0.5);
    instruments.incidentClosed("resolved", 7200);
    instruments.incidentClosed("cancelled");

    const mttr = (await collect()).get("selfheal_mttr_seconds");
    expect(mttr?.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(mttr?.descriptor).toMatchObject({ unit: "s", description: expect.stringMatching(/\w/) });
    expect(mttr?.dataPoints).toHaveLength(1);
    const point = mttr?.dataPoints[0] as DataPoint<Histogram> | undefined;
    expect(point?.attributes).toEqual({ state: "resolved" });
    expect(point?.value.count).toBe(3);
    expect(point?.value.sum).toBe(7242.5);
    expect(point?.value.buckets.boundaries).toEqual([1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600]);
    expect(point?.value.buckets.boundaries).toEqual(mttrBucketBoundaries);
    // 0.5 in (-inf, 1], 42 in (30, 60], 7200 in (3600, +inf).
    expect(point?.value.buckets.counts).toEqual([1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
  });

  it("reports open incidents from the callback until unregistered", async () => {
    const { instruments, collect } = setup();
    let open = 3;
    let calls = 0;
    const stop = instruments.openIncidents(() => {
      calls += 1;
      return open;
    });

    const first = (await collect()).get("selfheal_open_incidents");
    expect(first?.dataPointType).toBe(DataPointType.GAUGE);
    expect(first?.descriptor).toMatchObject({ unit: "{incident}", description: expect.stringMatching(/\w/) });
    expect(points(first)).toEqual([{ attributes: {}, value: 3 }]);

    open = 5;
    expect(points((await collect()).get("selfheal_open_incidents"))).toEqual([{ attributes: {}, value: 5 }]);
    expect(calls).toBe(2);

    stop();
    await collect();
    expect(calls).toBe(2);
  });

  it("keeps two instrument sets apart", async () => {
    const one = setup();
    const two = setup();
    one.instruments.suppressed("dry_run");

    expect(points((await one.collect()).get("selfheal_suppressed_total"))).toHaveLength(1);
    expect((await two.collect()).get("selfheal_suppressed_total")?.dataPoints ?? []).toEqual([]);
  });
});

describe("createInstruments: spans", () => {
  it("runs fn in a span named selfheal.<stage> with the attributes, and ends it", async () => {
    const { instruments, spans } = setup();

    const result = await instruments.span(
      "decide",
      { "selfheal.incident_id": "inc-1", attempt: 2 },
      async (span) => {
        span.setAttribute("selfheal.action", "rollback");
        return "decided";
      },
    );

    expect(result).toBe("decided");
    const [span] = spans.getFinishedSpans();
    expect(spans.getFinishedSpans()).toHaveLength(1);
    expect(span?.name).toBe("selfheal.decide");
    expect(span?.instrumentationScope).toMatchObject({ name: "@selfheal/core", version: "0.1.0" });
    expect(span?.attributes).toEqual({
      "selfheal.incident_id": "inc-1",
      attempt: 2,
      "selfheal.action": "rollback",
    });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
    expect(span?.ended).toBe(true);
  });

  it("records a throw with error status, redacted, ends the span and rethrows", async () => {
    const { instruments, spans } = setup();
    const token = `ghp_${"Qw3Er4Ty5".repeat(4)}`;
    const failure = new Error(`push rejected for ${token}`);

    await expect(
      instruments.span("act", { action: "rollback" }, async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);

    const [span] = spans.getFinishedSpans();
    expect(span?.name).toBe("selfheal.act");
    expect(span?.ended).toBe(true);
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: "push rejected for ghp_[REDACTED]" });
    const exception = span?.events.find((event) => event.name === "exception");
    expect(exception?.attributes).toMatchObject({
      "exception.type": "Error",
      "exception.message": "push rejected for ghp_[REDACTED]",
    });
    expect(JSON.stringify(span?.events)).not.toContain(token);
  });

  it("works without providers (the global no-op API)", async () => {
    const instruments = createInstruments();
    instruments.actionFinished("rollback", "failed");
    instruments.incidentClosed("resolved", 10);
    const stop = instruments.openIncidents(() => 1);
    stop();
    await expect(instruments.span("verify", {}, async () => 7)).resolves.toBe(7);
  });
});
