import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  binaryAvailable,
  type MetricsTarget,
  prometheusBinary,
  type RunningServer,
  startMetricsTarget,
  startPrometheus,
} from "@selfheal/adapter-prometheus/testing";
import { incidentTraceId } from "@selfheal/core";
import { type GitHttpServer, runGit, startGitHttpServer } from "@selfheal/gitops/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRun } from "./cli-harness.js";
import {
  jaegerAvailable,
  jaegerBinary,
  jaegerTrace,
  type RunningJaeger,
  startJaeger,
  tag,
} from "./jaeger.js";

// `selfheal run` exports one trace per incident over OTLP to a real Jaeger v2 (built by
// scripts/go-tools.sh jaeger): the endpoint comes from the standard OTEL_EXPORTER_OTLP_ENDPOINT,
// a real Prometheus feeds the decision and the recovery check, and a real git server takes the
// rollback. Jaeger is then asked for the incident's trace by the id the audit trail and the
// commit carry, and must hold the root span and one span per stage under it.
const missing = !(await jaegerAvailable()) || !(await binaryAvailable(prometheusBinary()));
if (missing && process.env.CI !== "true") {
  process.stderr.write(
    `skipping the OTLP test: it needs Jaeger at ${jaegerBinary()} (scripts/go-tools.sh jaeger) and Prometheus\n`,
  );
}

const deployment = (tag: string) =>
  [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    "  name: checkout",
    "spec:",
    "  replicas: 2",
    "  template:",
    "    spec:",
    "      containers:",
    "        - name: checkout",
    `          image: registry.example.com/shop/checkout:${tag}`,
    "",
  ].join("\n");

const payload = JSON.stringify({
  version: "4",
  groupKey: '{}:{alertname="HighErrorRate"}',
  truncatedAlerts: 0,
  status: "firing",
  receiver: "selfheal",
  groupLabels: { alertname: "HighErrorRate" },
  commonLabels: { alertname: "HighErrorRate", service: "checkout", severity: "critical" },
  commonAnnotations: {},
  externalURL: "http://alertmanager.invalid",
  alerts: [
    {
      status: "firing",
      labels: { alertname: "HighErrorRate", service: "checkout", severity: "critical" },
      annotations: {},
      startsAt: new Date().toISOString(),
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "",
      fingerprint: "otlp1",
    },
  ],
});

describe.skipIf(missing && process.env.CI !== "true")("OTLP traces in a real Jaeger", () => {
  let git: GitHttpServer;
  let prometheus: RunningServer;
  let target: MetricsTarget;
  let jaeger: RunningJaeger;
  let work: string;

  beforeAll(async () => {
    target = await startMetricsTarget();
    target.setTraffic("checkout", 7, 3);
    target.setContainer({
      namespace: "shop",
      pod: "checkout-7d4b9-abcde",
      container: "checkout",
      restartsPerS: 2,
      cpuPerS: 0.1,
      cpuLimit: 0.5,
    });
    [git, prometheus, jaeger] = await Promise.all([
      startGitHttpServer(),
      startPrometheus({ scrapeTargets: [target.address] }),
      startJaeger(),
    ]);
    work = await mkdtemp(join(tmpdir(), "selfheal-otlp-"));
    // Wait until Prometheus has the restarts the rollback rule needs (the first scrapes give no rate).
    const restarts = "sum(increase(kube_pod_container_status_restarts_total[15s]))";
    for (;;) {
      const answer = (await (
        await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(restarts)}`)
      ).json()) as { data?: { result?: { value?: [number, string] }[] } };
      if (Number(answer.data?.result?.[0]?.value?.[1] ?? 0) > 10) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 180_000);

  afterAll(async () => {
    await Promise.all([git?.close(), prometheus?.stop(), target?.close(), jaeger?.stop()]);
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it("one trace per incident: the root span and a span per stage, found by the id in the audit trail and the commit", async () => {
    const repo = await git.createRepo(
      "otlp",
      { "apps/checkout/deployment.yaml": deployment("v1.1.0") },
      {
        commits: [
          { message: "checkout v1.2.0", files: { "apps/checkout/deployment.yaml": deployment("v1.2.0") } },
        ],
      },
    );
    await writeFile(join(work, "alert.json"), payload);
    await writeFile(
      join(work, "selfheal.yaml"),
      [
        "listen: { host: 127.0.0.1, port: 0 }",
        "sources: { alertmanager: {} }",
        `enrich: { prometheus: { url: "${prometheus.url}", window: 15s } }`,
        "policy: { builtin: {} }",
        `remediate: { gitops: { repo: { url: "${repo.url}", dir: config-repo } } }`,
        // The recovery check holds at once: what matters here is that it runs, as its own stage.
        "verify: { prometheusRecovery: { query: 'vector(0)', below: 0.05, hold: 1s, deadline: 2m } }",
        "store: { file: { dir: state, fsync: false } }",
        "telemetry: { otlp: { headers: { authorization: 'Bearer otlp-token-fake-55ab' } } }",
        "",
      ].join("\n"),
    );
    const run = startRun(
      work,
      { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpUrl, OTEL_SERVICE_NAME: "selfheal-otlp-test" },
      ["run", "-c", "selfheal.yaml"],
    );
    let id: string;
    try {
      const url = await run.listening();
      // Printed once the exporters are set up, after the listening line.
      const [, exportedTo] = await run.printed(/traces to (\S+) \(OTLP\)/, "stdout");
      expect(exportedTo).toBe(`${jaeger.otlpUrl}/v1/traces`);
      const posted = await fetch(`${url}/webhook/alertmanager`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: await readFile(join(work, "alert.json"), "utf8"),
      });
      expect(posted.status).toBeLessThan(300);
      // The incident closes (its root span is written then).
      id = (await run.printed(/incident (\S+) resolved/, "stderr"))[1] as string;
    } finally {
      run.child.kill("SIGTERM");
    }
    // Stopping pushes what is buffered.
    expect(await run.exited, run.output.stderr).toBe(0);
    const traceId = incidentTraceId(id);

    // The trace id is in the audit trail and on the commit's change text.
    expect(await allText(join(work, "state"))).toContain(`"traceId":"${traceId}"`);
    const commitSha = (await runGit(["--git-dir", repo.path, "rev-parse", "main"])).trim();

    // The process ended after its exporter was answered, and Jaeger stores what it receives
    // before it answers (no batch processor in its pipeline): one query sees the whole trace.
    const spans = await jaegerTrace(jaeger.queryUrl, traceId);
    const names = spans.map((span) => span.operationName).sort();
    expect(names, jaeger.log()).toEqual([
      "selfheal.decide",
      "selfheal.incident",
      "selfheal.remediate",
      "selfheal.verify",
    ]);
    const root = spans.find((span) => span.operationName === "selfheal.incident");
    if (root === undefined) throw new Error(`no selfheal.incident span among ${names.join(", ")}`);
    expect(root.references).toEqual([]);
    expect(tag(root, "selfheal.incident")).toBe(id);
    expect(tag(root, "selfheal.service")).toBe("checkout");
    expect(tag(root, "selfheal.alertname")).toBe("HighErrorRate");
    expect(tag(root, "selfheal.action")).toBe("rollback");
    expect(tag(root, "selfheal.state")).toBe("resolved");
    expect(tag(root, "selfheal.commit")).toBe(commitSha);
    for (const stage of spans.filter((span) => span !== root)) {
      expect(stage.references, stage.operationName).toEqual([
        { refType: "CHILD_OF", traceID: traceId, spanID: root.spanID },
      ]);
      expect(tag(stage, "selfheal.service")).toBe("checkout");
      // Each stage starts within the incident's lifetime (the last one ends just after the close
      // it records).
      expect(stage.startTime).toBeGreaterThanOrEqual(root.startTime);
      expect(stage.startTime).toBeLessThanOrEqual(root.startTime + root.duration);
    }
    // Decide before remediate before verify (no sync stage: nothing here reports a sync, as Argo CD would).
    const order = [...spans]
      .filter((span) => span !== root)
      .sort((a, b) => a.startTime - b.startTime)
      .map((span) => span.operationName);
    expect(order).toEqual(["selfheal.decide", "selfheal.remediate", "selfheal.verify"]);
    // The export's credential is redacted from what the controller printed.
    expect(run.output.stdout + run.output.stderr).not.toContain("otlp-token-fake-55ab");
    const services = (await (await fetch(`${jaeger.queryUrl}/api/services`)).json()) as { data: string[] };
    expect(services.data).toContain("selfheal-otlp-test");
  }, 240_000);
});

async function allText(dir: string): Promise<string> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.push(await readFile(join(entry.parentPath, entry.name), "utf8"));
  }
  return out.join("\n");
}
