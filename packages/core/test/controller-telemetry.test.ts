import { type DataPoint, type Histogram, MeterProvider, type MetricData } from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { expect, it } from "vitest";
import { createController, memoryStore, silentLogger } from "../src/index.js";
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
