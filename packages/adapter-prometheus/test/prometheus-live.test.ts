import { type Incident, SelfHealError } from "@selfheal/core";
import {
  makeDecisionInput,
  makeVerifyingIncident,
  testEnricherContract,
  testVerifierContract,
} from "@selfheal/core/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type PrometheusMetricsSettings, prometheusMetrics, prometheusRecovery } from "../src/index.js";
import {
  binaryAvailable,
  prometheusBinary,
  type RunningServer,
  startMetricsTarget,
  startPrometheus,
} from "../src/testing/index.js";
import { prometheusSpecChecker, recordingDispatcher } from "./spec-check.js";

// Outside CI a machine without Prometheus skips; in CI the missing binary fails the run.
const skip = !(await binaryAvailable(prometheusBinary())) && process.env.CI !== "true";

const signal = () => AbortSignal.timeout(20_000);
const serviceErrorsRule = 'sum by (service) (rate(http_requests_total{status=~"5.."}[5s])) > 0';

function incidentFor(service: string, alertname = "HighErrorRate"): Incident {
  return makeVerifyingIncident({
    service,
    alertname,
    labels: { alertname, service, severity: "critical", namespace: "shop" },
  });
}

describe.skipIf(skip)("against a real Prometheus", () => {
  let prometheus: RunningServer | undefined;
  let target: Awaited<ReturnType<typeof startMetricsTarget>> | undefined;
  const recorder = recordingDispatcher();
  let checker: Awaited<ReturnType<typeof prometheusSpecChecker>>;

  const url = () => prometheus?.url ?? "http://127.0.0.1:1";
  const settings = (extra: Partial<PrometheusMetricsSettings> = {}): PrometheusMetricsSettings => ({
    url: url(),
    window: "5s",
    dispatcher: recorder.dispatcher,
    ...extra,
  });
  const enrich = (service: string, extra: Partial<PrometheusMetricsSettings> = {}, alertname?: string) =>
    prometheusMetrics(settings(extra)).enrich({
      incident: incidentFor(service, alertname),
      input: makeDecisionInput(),
      signal: signal(),
    });

  beforeAll(async () => {
    checker = await prometheusSpecChecker();
    target = await startMetricsTarget();
    target.setTraffic("checkout", 7, 3);
    target.setTraffic("healthy", 10, 0);
    target.setTraffic("recovering", 7, 3);
    target.setTraffic("stuck", 5, 5);
    prometheus = await startPrometheus({
      scrapeTargets: [target.address],
      rules: [
        {
          name: "selfheal-test",
          rules: [{ alert: "ServiceErrors", expr: serviceErrorsRule, labels: { severity: "critical" } }],
        },
      ],
    });
    // rate() needs two scrapes inside the window.
    for (let tries = 0; tries < 100; tries += 1) {
      const [busy, calm] = await Promise.all([enrich("checkout"), enrich("healthy")]);
      if (busy.metrics?.error_rate !== undefined && calm.metrics?.error_rate !== undefined) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    recorder.requests.length = 0;
  }, 45_000);

  afterAll(async () => {
    await prometheus?.stop();
    await target?.close();
    await recorder.close();
  });

  afterEach(() => {
    // Every request the adapter sent is one the official spec defines.
    const problems = recorder.requests.flatMap((request) => checker.check(request));
    recorder.requests.length = 0;
    expect(problems).toEqual([]);
  });

  testEnricherContract("prometheusMetrics", async () => ({
    enricher: prometheusMetrics(settings()),
    incident: incidentFor("checkout"),
  }));

  testVerifierContract("prometheusRecovery", async () => ({
    verifier: prometheusRecovery({ url: url(), window: "5s", hold: "1s", deadline: "2s", interval: "200ms" }),
    incident: incidentFor("stuck"),
  }));

  it("reads the error rate Prometheus computes, and leaves metrics without data out", async () => {
    const found = await enrich("checkout");
    expect(found.metrics?.error_rate).toBeGreaterThan(0.25);
    expect(found.metrics?.error_rate).toBeLessThan(0.35);
    // No kube-state-metrics here: no data, so unknown, not 0, and not a problem worth a warning.
    expect(found.metrics).not.toHaveProperty("restart_count");
    expect(found.metrics).not.toHaveProperty("cpu_usage");
    expect(found.warnings).toBeUndefined();
    expect(found.stale).toBeUndefined();
    expect(found.facts).toMatchObject({
      window: "5s",
      queries: {
        error_rate: { status: "ok", query: expect.stringContaining('service="checkout"') },
        restart_count: { status: "empty", query: expect.stringContaining('namespace="shop"') },
      },
      levelCheck: { status: "ok", holds: true },
    });
    expect(recorder.requests.map((request) => request.method)).toContain("POST");
  });

  it("reads 0 for a service without errors and nothing for a service without traffic", async () => {
    const healthy = await enrich("healthy", { levelCheck: false });
    expect(healthy.metrics?.error_rate).toBe(0);
    const ghost = await enrich("ghost", { levelCheck: false });
    expect(ghost.metrics).not.toHaveProperty("error_rate");
    expect(ghost.facts).toMatchObject({
      queries: { error_rate: { status: "empty" } },
      levelCheck: "disabled",
    });
  });

  it("turns a failing, ambiguous or NaN query into a warning and a missing metric", async () => {
    const found = await enrich("checkout", {
      method: "GET",
      queries: { broken: "sum(rate(", several: 'http_requests_total{service="{{service}}"}', nan: "0/0" },
    });
    expect(found.metrics?.error_rate).toBeGreaterThan(0.2);
    for (const key of ["broken", "several", "nan"]) expect(found.metrics).not.toHaveProperty(key);
    expect(found.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^broken: .*answered 400: bad_data: /),
        expect.stringMatching(/^several: the query returned 2 series/),
        "nan: the query returned NaN",
      ]),
    );
    expect(recorder.requests.every((request) => request.method === "GET")).toBe(true);
  });

  it("escapes incident values, so a label cannot inject PromQL", async () => {
    // Quote, backslash, newline and a control character: each must come out as a valid escape.
    const hostile = 'checkout"} or vector(1) or up{x="\\\n\u0001\t';
    const found = await enrich(hostile, {
      queries: { regex: 'sum(http_requests_total{service=~"{{service|regex}}"})' },
    });
    expect(found.metrics).not.toHaveProperty("error_rate");
    expect(found.warnings).toBeUndefined();
    expect(JSON.stringify(found.facts)).toContain(String.raw`checkout\\\"} or vector(1)`);
    // A regex character in a value matches itself only: "check.ut" does not match "checkout".
    const dotted = await enrich("check.ut", {
      queries: { regex: 'sum(http_requests_total{service=~"{{service|regex}}"})' },
    });
    expect(dotted.metrics).not.toHaveProperty("regex");
    const exact = await enrich("checkout", {
      queries: { regex: 'sum(http_requests_total{service=~"{{service|regex}}"})' },
    });
    expect(exact.metrics?.regex).toBeGreaterThan(0);
  });

  it("marks the incident stale when the alert's condition no longer holds", async () => {
    const calm = await enrich("healthy");
    expect(calm.stale?.reason).toMatch(/HighErrorRate no longer holds/);
    const busy = await enrich("checkout");
    expect(busy.stale).toBeUndefined();
    const configured = await enrich(
      "checkout",
      {
        alertExpressions: {
          LowTraffic: 'sum(rate(http_requests_total{service="{{service}}"}[{{window}}])) < 1',
        },
      },
      "LowTraffic",
    );
    expect(configured.stale?.reason).toMatch(/LowTraffic no longer holds/);
  });

  it("checks any alert again through its rule as Prometheus serves it, never the payload's generatorURL", async () => {
    const check = (service: string, generatorUrl?: string) =>
      prometheusMetrics(settings()).enrich({
        incident: {
          ...incidentFor(service, "ServiceErrors"),
          ...(generatorUrl === undefined ? {} : { generatorUrl }),
        },
        input: makeDecisionInput(),
        signal: signal(),
      });
    // The rule returns one series per service with errors: checkout's matches its alert's labels.
    const busy = await check("checkout");
    expect(busy.stale).toBeUndefined();
    expect(busy.facts).toMatchObject({ levelCheck: { query: serviceErrorsRule, status: "ok", holds: true } });
    // healthy has no errors: no series of the rule is this alert's any more.
    const calm = await check("healthy");
    expect(calm.stale?.reason).toMatch(/ServiceErrors no longer holds/);
    // A payload's generatorURL names an expression that finds nothing: it is not evaluated, so
    // it cannot make a firing alert look stale.
    const forged = `http://prometheus:9090/graph?g0.expr=${encodeURIComponent("vector(1) == 2")}&g0.tab=1`;
    const forgedCheck = await check("checkout", forged);
    expect(forgedCheck.stale).toBeUndefined();
    expect(forgedCheck.facts).toMatchObject({ levelCheck: { query: serviceErrorsRule, holds: true } });
    // A rule whose own labels the alert does not carry is not this alert's rule.
    const otherTeam = await prometheusMetrics(settings()).enrich({
      incident: makeVerifyingIncident({
        service: "healthy",
        alertname: "ServiceErrors",
        labels: { alertname: "ServiceErrors", service: "healthy", team: "other" },
      }),
      input: makeDecisionInput(),
      signal: signal(),
    });
    expect(otherTeam.stale).toBeUndefined();
    expect(otherTeam.facts).toMatchObject({
      levelCheck: expect.stringMatching(/no alerting rule of that name/),
    });
    // Only the rules API was asked, once per alert name within the cache's lifetime.
    const ruleReads = recorder.requests.filter((request) => request.pathname.endsWith("/api/v1/rules"));
    expect(ruleReads.length).toBeGreaterThan(0);
  });

  it("does not mark stale when the level check itself fails", async () => {
    const found = await enrich("healthy", { alertExpressions: { Broken: "sum(" } }, "Broken");
    expect(found.stale).toBeUndefined();
    expect(found.warnings).toEqual([expect.stringMatching(/^level check: .*400/)]);
    expect(found.facts).toMatchObject({ levelCheck: { status: "error", holds: "unknown" } });
    const unknown = await enrich("healthy", {}, "SomethingElse");
    expect(unknown.stale).toBeUndefined();
    expect(unknown.facts).toMatchObject({
      levelCheck:
        "no expression known for alert SomethingElse (none configured, no alerting rule of that name in Prometheus)",
    });
  });

  it("answers with the documented envelope (checked against the spec)", async () => {
    const post = (query: string) =>
      fetch(`${url()}/api/v1/query`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ query }),
      }).then(async (response) => ({ status: response.status, body: (await response.json()) as unknown }));
    const ok = await post('sum(http_requests_total{service="checkout"})');
    expect(checker.validate("QueryOutputBody", ok.body)).toEqual([]);
    const bad = await post("sum(");
    expect(bad.status).toBe(400);
    expect(checker.validate("Error", bad.body)).toEqual([]);
  });

  it("passes recovery once the error rate drops and holds", async () => {
    target?.setTraffic("recovering", 10, 0);
    const verifier = prometheusRecovery({
      url: url(),
      window: "5s",
      hold: "2s",
      deadline: "25s",
      interval: "500ms",
      dispatcher: recorder.dispatcher,
    });
    const verdict = await verifier.verify({ ...planOf(incidentFor("recovering")), signal: signal() });
    expect(verdict.outcome, verdict.reason).toBe("passed");
    const statuses = ((verdict.evidence?.polls ?? []) as { status: string }[]).map((poll) => poll.status);
    expect(statuses[0]).toBe("above");
    expect(statuses.slice(-3)).toEqual(["below", "below", "below"]);
  }, 30_000);

  it("fails recovery by the deadline when the error rate stays up", async () => {
    const verdict = await prometheusRecovery({
      url: url(),
      window: "5s",
      hold: "2s",
      deadline: "3s",
      interval: "500ms",
      dispatcher: recorder.dispatcher,
    }).verify({ ...planOf(incidentFor("stuck")), signal: signal() });
    expect(verdict.outcome).toBe("failed");
    expect(verdict.reason).toMatch(/did not stay below 0.05/);
    // It gave up by its deadline: no poll started after it (its own clock, not the test's).
    const evidence = verdict.evidence as { deadline: string; polls: { at: string }[] };
    expect(evidence.polls.length).toBeGreaterThan(0);
    for (const poll of evidence.polls)
      expect(Date.parse(poll.at)).toBeLessThan(Date.parse(evidence.deadline));
  });

  it("watches an alert's own symptom from byAlert: HighCPU recovered by its query while the error rate stays up", async () => {
    const verifier = prometheusRecovery({
      url: url(),
      window: "5s",
      hold: "1s",
      deadline: "3s",
      interval: "200ms",
      byAlert: { HighCPU: { query: "vector(0.3)", threshold: 0.8 } },
      dispatcher: recorder.dispatcher,
    });
    const cpu = await verifier.verify({ ...planOf(incidentFor("stuck", "HighCPU")), signal: signal() });
    expect(cpu.outcome, cpu.reason).toBe("passed");
    expect(cpu.evidence).toMatchObject({ query: "vector(0.3)", threshold: 0.8 });
    const errors = await verifier.verify({ ...planOf(incidentFor("stuck")), signal: signal() });
    expect(errors.outcome).toBe("failed");
    expect(errors.reason).toMatch(/did not stay below 0.05/);
    expect(() =>
      prometheusRecovery({ url: url(), byAlert: { HighCPU: { query: "x", threshold: Number.NaN } } }),
    ).toThrow("byAlert.HighCPU.threshold must be a finite number");
  });

  it("counts no data as not recovered unless told otherwise", async () => {
    const options = {
      url: url(),
      window: "5s",
      hold: "500ms",
      deadline: "2s",
      interval: "200ms",
      dispatcher: recorder.dispatcher,
    } as const;
    const strict = await prometheusRecovery(options).verify({
      ...planOf(incidentFor("ghost")),
      signal: signal(),
    });
    expect(strict.outcome).toBe("failed");
    expect(strict.reason).toMatch(/no data/);
    const lenient = await prometheusRecovery({ ...options, emptyMeansRecovered: true }).verify({
      ...planOf(incidentFor("ghost")),
      signal: signal(),
    });
    expect(lenient.outcome).toBe("passed");
  });

  it("keeps a path prefix, sends credentials and never shows them", async () => {
    // Prometheus as behind a reverse proxy at /prefix: the API below it is the documented one.
    const prefixed = await startPrometheus({ routePrefix: "/prefix" });
    try {
      const withCredentials = new URL(`${prefixed.url}/`);
      withCredentials.username = "user";
      withCredentials.password = "s3cret-pass";
      const queries = {
        error_rate: null,
        restart_count: null,
        cpu_usage: null,
        one: "vector(1)",
        broken: "sum(rate(",
      };
      const run = (extra: Partial<PrometheusMetricsSettings>) =>
        prometheusMetrics(settings({ queries, levelCheck: false, ...extra })).enrich({
          incident: incidentFor("checkout"),
          input: makeDecisionInput(),
          signal: signal(),
        });
      const withUrlCredentials = await run({ url: withCredentials.toString() });
      const withBearer = await run({
        url: prefixed.url,
        auth: { bearer: "t0ken-secret-value" },
        headers: { "X-Scope-OrgID": "tenant-1" },
      });
      expect(withUrlCredentials.metrics).toEqual({ one: 1 });
      expect(withBearer.metrics).toEqual({ one: 1 });
      const seen = recorder.requests.splice(0);
      expect(seen).toHaveLength(4);
      for (const request of seen) {
        expect(request.pathname).toBe("/prefix/api/v1/query");
        expect(checker.check({ ...request, pathname: request.pathname.replace(/^\/prefix\//, "/") })).toEqual(
          [],
        );
      }
      const basic = `Basic ${Buffer.from("user:s3cret-pass").toString("base64")}`;
      expect(seen.slice(0, 2).map((request) => request.headers.authorization)).toEqual([basic, basic]);
      for (const request of seen.slice(2)) {
        expect(request.headers.authorization).toBe("Bearer t0ken-secret-value");
        expect(request.headers["x-scope-orgid"]).toBe("tenant-1");
      }
      const text = JSON.stringify([withUrlCredentials, withBearer]);
      expect(text).toContain("answered 400: bad_data: ");
      expect(text).not.toMatch(/s3cret|t0ken/);
    } finally {
      await prefixed.stop();
    }
  }, 45_000);

  it("rejects with a SelfHealError when cancelled", async () => {
    const controller = new AbortController();
    const running = prometheusRecovery({ url: url(), window: "5s", hold: "30s", deadline: "1m" }).verify({
      ...planOf(incidentFor("stuck")),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error("shutdown")), 100);
    const error = await running.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(SelfHealError.isInstance(error)).toBe(true);
  });
});

function planOf(incident: Incident) {
  if (incident.plan === undefined || incident.result === undefined) throw new Error("incidentFor sets both");
  return { incident, plan: incident.plan, result: incident.result };
}
