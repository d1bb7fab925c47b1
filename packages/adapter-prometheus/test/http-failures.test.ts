import { SelfHealError } from "@selfheal/core";
import { makeDecisionInput, makeIncident } from "@selfheal/core/testing";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { alertmanagerSilences, type PrometheusMetricsSettings, prometheusMetrics } from "../src/index.js";
import { alertmanagerSpecChecker, prometheusSpecChecker } from "./spec-check.js";
import { startStandIn } from "./stand-in.js";

let prometheusSpec: Awaited<ReturnType<typeof prometheusSpecChecker>>;
let alertmanagerSpec: Awaited<ReturnType<typeof alertmanagerSpecChecker>>;
let standIn: Awaited<ReturnType<typeof startStandIn>> | undefined;

beforeAll(async () => {
  prometheusSpec = await prometheusSpecChecker();
  alertmanagerSpec = await alertmanagerSpecChecker();
});

afterEach(async () => {
  const problems = standIn?.problems() ?? [];
  await standIn?.close();
  standIn = undefined;
  expect(problems).toEqual([]);
});

async function enrichOnce(extra: Partial<PrometheusMetricsSettings> & { url?: string }) {
  return prometheusMetrics({
    url: standIn?.url ?? "",
    queries: { restart_count: null, cpu_usage: null },
    levelCheck: false,
    ...extra,
  }).enrich({ incident: makeIncident(), input: makeDecisionInput(), signal: AbortSignal.timeout(5000) });
}

describe("prometheusMetrics when Prometheus misbehaves", () => {
  it("turns a proxy's HTML 502 into a failure (an outage) with the start of the page", async () => {
    standIn = await startStandIn((request) => prometheusSpec.check(request));
    standIn.expect({
      method: "POST",
      pathname: "/api/v1/query",
      answer: { status: 502, contentType: "text/html", body: "<html><body>Bad Gateway</body></html>" },
    });
    const found = await enrichOnce({});
    expect(found.metrics).toEqual({});
    expect(found.failures).toEqual([
      expect.stringMatching(/^error_rate: .*answered 502: <html><body>Bad Gateway/),
    ]);
    expect(found.warnings).toBeUndefined();
  });

  it("gives up on a query at its time limit, and tells Prometheus the limit", async () => {
    standIn = await startStandIn((request) => prometheusSpec.check(request));
    standIn.expect({
      method: "POST",
      pathname: "/api/v1/query",
      answer: {
        status: 200,
        body: '{"status":"success","data":{"resultType":"vector","result":[]}}',
        delayMs: 10_000,
      },
    });
    // 1 s, not less: the query must reach the stand-in (which checks it was asked) first.
    const found = await enrichOnce({ queryTimeoutMs: 1000 });
    expect(found.failures).toEqual([expect.stringMatching(/did not answer in 1000 ms/)]);
    expect(new URLSearchParams(standIn.seen[0]?.body).get("timeout")).toBe("1000ms");
  });

  it("rejects when cancelled instead of answering with what it has", async () => {
    standIn = await startStandIn((request) => prometheusSpec.check(request));
    standIn.expect({
      method: "POST",
      pathname: "/api/v1/query",
      answer: {
        status: 200,
        body: '{"status":"success","data":{"resultType":"vector","result":[]}}',
        delayMs: 10_000,
      },
    });
    const controller = new AbortController();
    const running = prometheusMetrics({
      url: standIn.url,
      queries: { restart_count: null, cpu_usage: null },
      levelCheck: false,
    }).enrich({ incident: makeIncident(), input: makeDecisionInput(), signal: controller.signal });
    // Cancelled once the query is under way (it arrived at the stand-in), not after a fixed time.
    while (standIn.seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort(new Error("shutdown"));
    await expect(running).rejects.toMatchObject({ adapter: "prometheus", operation: "enrich" });
  });

  it("refuses a 200 whose body is not the documented envelope", async () => {
    standIn = await startStandIn((request) => prometheusSpec.check(request));
    standIn.expect({
      method: "POST",
      pathname: "/api/v1/query",
      answer: { status: 200, body: '{"result":1}' },
    });
    const found = await enrichOnce({});
    expect(found.warnings).toEqual([expect.stringMatching(/answered 200 with an unexpected body/)]);
  });
});

describe("alertmanagerSilences errors", () => {
  it("carries adapter, operation, redacted url, status and whether to retry", async () => {
    standIn = await startStandIn((request) => alertmanagerSpec.check(request));
    standIn.expect({ method: "GET", pathname: "/api/v2/silences", answer: { status: 200, body: "[]" } });
    standIn.expect({
      method: "POST",
      pathname: "/api/v2/silences",
      answer: { status: 400, body: '"bad matchers"' },
    });
    standIn.expect({
      method: "GET",
      pathname: "/api/v2/silences",
      answer: { status: 503, body: "overloaded" },
    });
    const silences = alertmanagerSilences({ url: `http://admin:s3cret-pass@127.0.0.1:${standIn.port}` });
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: unknown) => error,
      );
    const refused = await failure(
      silences.create({ incident: makeIncident(), signal: AbortSignal.timeout(5000) }),
    );
    expect(SelfHealError.isInstance(refused)).toBe(true);
    expect(refused).toMatchObject({
      adapter: "alertmanager",
      operation: "createSilence",
      status: 400,
      retryable: false,
      url: `http://127.0.0.1:${standIn.port}/api/v2/silences`,
    });
    const unavailable = await failure(
      silences.create({ incident: makeIncident(), signal: AbortSignal.timeout(5000) }),
    );
    expect(unavailable).toMatchObject({ operation: "getSilences", status: 503, retryable: true });
    expect(JSON.stringify([refused, unavailable, String(refused)])).not.toContain("s3cret");
  });

  it("reports an unreachable Alertmanager as a retryable error", async () => {
    const silences = alertmanagerSilences({ url: "http://127.0.0.1:9" });
    const error = await silences.expire({ silenceId: "x", signal: AbortSignal.timeout(5000) }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toMatchObject({ adapter: "alertmanager", operation: "expireSilence", retryable: true });
  });
});
