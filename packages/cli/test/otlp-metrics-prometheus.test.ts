import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { firingPayload } from "@selfheal/adapter-prometheus";
import { binaryAvailable, type RunningServer, startPrometheus } from "@selfheal/adapter-prometheus/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRun } from "./cli-harness.js";

// `selfheal run` pushes its metrics over OTLP/HTTP (protobuf) to a real OTLP metrics backend:
// today's Prometheus (3.9.1, built by scripts/go-tools.sh prometheus) with its OTLP receiver on
// (`--web.enable-otlp-receiver`, /api/v1/otlp/v1/metrics). Prometheus is then asked for the
// controller's counters, with the labels they were recorded with.
const repo = fileURLToPath(new URL("../../../", import.meta.url));
const [, version, binary] = execFileSync(join(repo, "scripts/go-tools.sh"), ["--where", "prometheus"], {
  encoding: "utf8",
})
  .trim()
  .split(" ") as [string, string, string];
const missing = !(await binaryAvailable(binary));
if (missing && process.env.CI === "true") {
  throw new Error(
    `Prometheus ${version} is not at ${binary}: .ci/run builds it (scripts/go-tools.sh prometheus)`,
  );
}
if (missing) {
  process.stderr.write(
    `skipping the OTLP metrics test: it needs Prometheus ${version} at ${binary} (scripts/go-tools.sh prometheus)\n`,
  );
}

/** When the alerts started: the same for every delivery, so a redelivery is a duplicate. */
const startsAt = new Date().toISOString();
const alert = (alertname: string, fingerprint: string) =>
  JSON.stringify(
    firingPayload({
      groupLabels: { alertname },
      alerts: [{ labels: { alertname, service: "checkout" }, startsAt, fingerprint }],
    }),
  );

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

describe.skipIf(missing)(`OTLP metrics in a real Prometheus ${version}`, () => {
  let prometheus: RunningServer;
  let work: string;

  beforeAll(async () => {
    prometheus = await startPrometheus({ binary, extraArgs: ["--web.enable-otlp-receiver"] });
    work = await mkdtemp(join(tmpdir(), "selfheal-otlp-metrics-"));
  }, 120_000);

  afterAll(async () => {
    await prometheus?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it("pushes the controller's counters, found in Prometheus by name, labels and service", async () => {
    await writeFile(
      join(work, "selfheal.yaml"),
      [
        "listen: { host: 127.0.0.1, port: 0 }",
        "sources: { alertmanager: {} }",
        "policy: { builtin: {} }",
        "store: { file: { dir: state, fsync: false } }",
        `telemetry: { otlp: { endpoint: "${prometheus.url}/api/v1/otlp", traces: false, metricsInterval: 1s } }`,
        "",
      ].join("\n"),
    );
    const run = startRun(work, { OTEL_SERVICE_NAME: "selfheal-otlp-metrics" }, [
      "run",
      "-c",
      "selfheal.yaml",
    ]);
    try {
      const url = await run.listening();
      const [, pushedTo] = await run.printed(/metrics to (\S+) \(OTLP\)/, "stdout");
      expect(pushedTo).toBe(`${prometheus.url}/api/v1/otlp/v1/metrics`);
      expect(run.output.stdout).not.toContain("traces to");
      for (const [name, fingerprint] of [
        ["DiskFull", "aa01"],
        ["DiskFull", "aa01"], // a redelivery: a duplicate
        ["QueueBacklog", "bb02"],
      ] as const) {
        const posted = await fetch(`${url}/webhook/alertmanager`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: alert(name, fingerprint),
        });
        expect(posted.status).toBe(200);
      }
      // No rule for either alert: both incidents close as no_action.
      await run.printed(/incident \S*diskfull\S* no_action/, "stderr");
      await run.printed(/incident \S*queuebacklog\S* no_action/, "stderr");
    } finally {
      run.child.kill("SIGTERM");
    }
    // Stopping pushes what has not been pushed yet, and Prometheus has appended it once it answered.
    expect(await run.exited, run.output.stderr).toBe(0);

    // The resource's service.name (OTEL_SERVICE_NAME) is the series' job.
    const signals = await query(prometheus.url, 'selfheal_signals_total{job="selfheal-otlp-metrics"}');
    const byDisposition = Object.fromEntries(
      signals.map((sample) => [sample.metric.disposition, Number(sample.value[1])]),
    );
    expect(byDisposition).toEqual({ opened: 2, duplicate: 1 });
    expect(signals.every((sample) => sample.metric.source === "alertmanager")).toBe(true);
    const incidents = await query(prometheus.url, 'selfheal_incidents_total{job="selfheal-otlp-metrics"}');
    expect(incidents.map((sample) => [sample.metric.state, Number(sample.value[1])])).toEqual([
      ["no_action", 2],
    ]);
  }, 120_000);
});

async function query(base: string, promql: string): Promise<Sample[]> {
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const answer = (await response.json()) as { status: string; data?: { result?: Sample[] } };
  expect(answer.status, JSON.stringify(answer)).toBe("success");
  return answer.data?.result ?? [];
}
