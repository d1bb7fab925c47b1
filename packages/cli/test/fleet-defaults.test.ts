import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  binaryAvailable,
  type MetricsTarget,
  prometheusBinary,
  type RunningServer,
  startMetricsTarget,
  startPrometheus,
} from "@selfheal/adapter-prometheus/testing";
import { type GitHttpServer, runGit, startGitHttpServer } from "@selfheal/gitops/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "./cli-harness.js";

// The first "done when": real Prometheus scraping kube-state-metrics/cAdvisor-shaped
// series (no namespace label on the alerts), a config repo whose Deployment has a sidecar and an
// HPA, and a config that leaves every default alone but the addresses (and the query window:
// the series here are seconds old, not the 5 minutes the default window spans).
const noPrometheus = !(await binaryAvailable(prometheusBinary())) && process.env.CI !== "true";
const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

const deployment = (tag: string) =>
  [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    "  name: checkout",
    "spec:",
    "  template:",
    "    spec:",
    "      containers:",
    "        - name: checkout",
    `          image: registry.example.com/shop/checkout:${tag}`,
    "        - name: envoy",
    "          image: docker.io/envoyproxy/envoy:v1.30.1",
    "",
  ].join("\n");
const hpa = (min: number) =>
  [
    "apiVersion: autoscaling/v2",
    "kind: HorizontalPodAutoscaler",
    "metadata:",
    "  name: checkout",
    "spec:",
    "  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: checkout }",
    `  minReplicas: ${min}`,
    "  maxReplicas: 6",
    "",
  ].join("\n");

/** An Alertmanager payload of one firing alert, without a namespace label. */
const payload = (alertname: string, fingerprint: string) =>
  JSON.stringify({
    version: "4",
    groupKey: `{}:{alertname="${alertname}"}`,
    truncatedAlerts: 0,
    status: "firing",
    receiver: "selfheal",
    groupLabels: { alertname },
    commonLabels: { alertname, service: "checkout", severity: "critical" },
    commonAnnotations: {},
    externalURL: "http://alertmanager.invalid",
    alerts: [
      {
        status: "firing",
        labels: { alertname, service: "checkout", severity: "critical" },
        annotations: {},
        startsAt: new Date().toISOString(),
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "",
        fingerprint,
      },
    ],
  });

describe.skipIf(noPrometheus)("defaults on a real fleet's shapes", () => {
  let server: GitHttpServer;
  let prometheus: RunningServer;
  let target: MetricsTarget;
  let work: string;
  let repos = 0;

  async function configRepo() {
    return server.createRepo(
      `fleet-${++repos}`,
      { "apps/checkout/deployment.yaml": deployment("v1.1.0"), "apps/checkout/hpa.yaml": hpa(2) },
      {
        commits: [
          { message: "checkout v1.2.0", files: { "apps/checkout/deployment.yaml": deployment("v1.2.0") } },
        ],
      },
    );
  }

  const config = (repoUrl: string, dir: string) =>
    [
      "listen: { host: 127.0.0.1, port: 0 }",
      "sources: { alertmanager: {} }",
      `enrich: { prometheus: { url: "${prometheus.url}", window: 15s } }`,
      "policy: { builtin: {} }",
      `remediate: { gitops: { repo: { url: "${repoUrl}", dir: ${dir}/config-repo } } }`,
      `store: { file: { dir: ${dir}/state, fsync: false } }`,
      "",
    ].join("\n");

  beforeAll(async () => {
    target = await startMetricsTarget();
    target.setTraffic("checkout", 7, 3);
    for (const pod of ["checkout-7d4b9-abcde", "checkout-7d4b9-fghij"]) {
      target.setContainer({
        namespace: "shop",
        pod,
        container: "checkout",
        restartsPerS: 2,
        cpuPerS: 0.5,
        cpuLimit: 0.5,
      });
      target.setContainer({
        namespace: "shop",
        pod,
        container: "envoy",
        restartsPerS: 0,
        cpuPerS: 0.01,
        cpuLimit: 0.1,
      });
    }
    [server, prometheus] = await Promise.all([
      startGitHttpServer(),
      startPrometheus({ scrapeTargets: [target.address] }),
    ]);
    work = await mkdtemp(join(tmpdir(), "selfheal-fleet-"));
    await writeFile(join(work, "error.json"), payload("HighErrorRate", "f1"));
    await writeFile(join(work, "cpu.json"), payload("HighCPU", "f2"));
    // Wait until Prometheus holds enough samples for the rates to reach the levels the series
    // are set to (the first scrapes extrapolate low).
    const usage =
      'sum(rate(container_cpu_usage_seconds_total{container="checkout"}[15s])) / sum(kube_pod_container_resource_limits{container="checkout",resource="cpu"})';
    for (let tries = 0; tries < 300; tries += 1) {
      const answer = (await (
        await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(usage)}`)
      ).json()) as {
        data?: { result?: { value?: [number, string] }[] };
      };
      if (Number(answer.data?.result?.[0]?.value?.[1] ?? 0) > 0.9) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all([server?.close(), prometheus?.stop(), target?.close()]);
    await rm(work, { recursive: true, force: true });
  });

  interface Replayed {
    incidents: {
      decisionInput: { metrics: Record<string, number>; current_replicas?: number; max_replicas?: number };
      decision: { action: string; reason: string };
      plan?: { changes: { target: string; diff: string }[]; changeRequest?: { body: string } };
    }[];
  }

  const changedLines = (diff: string) => diff.split("\n").filter((line) => /^[-+](?![-+])/.test(line));

  it("replay: HighErrorRate plans a one-line rollback of the service's container, every metric known", async () => {
    const repo = await configRepo();
    await writeFile(join(work, "replay.yaml"), config(repo.url, "replay"));
    const answer = await runInProcess(["replay", "-c", "replay.yaml", "--json", "error.json"], { cwd: work });
    expect(answer.code, answer.stderr).toBe(0);
    const [incident] = (JSON.parse(answer.stdout) as Replayed).incidents;
    expect(Object.keys(incident?.decisionInput.metrics ?? {}).sort()).toEqual([
      "cpu_usage",
      "error_rate",
      "restart_count",
    ]);
    expect(incident?.decision.action, incident?.decision.reason).toBe("rollback");
    const [change, ...others] = (incident?.plan?.changes ?? []).filter(
      (entry) => !entry.target.startsWith(".selfheal/"),
    );
    expect(others).toEqual([]);
    expect(change?.target).toBe("apps/checkout/deployment.yaml");
    // The change request names the policy that decided.
    expect(incident?.plan?.changeRequest?.body).toContain("- **Policy:** builtin");
    expect(changedLines(change?.diff ?? "")).toEqual([
      "-          image: registry.example.com/shop/checkout:v1.2.0",
      "+          image: registry.example.com/shop/checkout:v1.1.0",
    ]);
  });

  it("replay for people: the headline matches the decision, and a direct commit is called a commit", async () => {
    const repo = await configRepo();
    await writeFile(join(work, "replay-text.yaml"), config(repo.url, "replay-text"));
    const answer = await runInProcess(["replay", "-c", "replay-text.yaml", "error.json"], { cwd: work });
    expect(answer.code, answer.stderr).toBe(0);
    expect(answer.stdout).toMatch(
      /^Incident \S+ \(checkout \/ HighErrorRate\): would rollback \(dry run: nothing written\)$/m,
    );
    expect(answer.stdout).toContain("== commit\ndirect commit to main\n");
    expect(answer.stdout).not.toContain("== change request");
    expect(answer.stdout).not.toMatch(/^change request /m);
  });

  it("replay: HighCPU plans a one-line raise of the HPA's minReplicas", async () => {
    const repo = await configRepo();
    await writeFile(join(work, "replay-cpu.yaml"), config(repo.url, "replay-cpu"));
    const answer = await runInProcess(["replay", "-c", "replay-cpu.yaml", "--json", "cpu.json"], {
      cwd: work,
    });
    expect(answer.code, answer.stderr).toBe(0);
    const [incident] = (JSON.parse(answer.stdout) as Replayed).incidents;
    expect(incident?.decisionInput).toMatchObject({ current_replicas: 2, max_replicas: 6 });
    expect(incident?.decision.action, incident?.decision.reason).toBe("scale_up");
    const [change, ...others] = incident?.plan?.changes ?? [];
    expect(others).toEqual([]);
    expect(change?.target).toBe("apps/checkout/hpa.yaml");
    expect(changedLines(change?.diff ?? "")).toEqual(["-  minReplicas: 2", "+  minReplicas: 3"]);
  });

  it("run: the same decisions land as real commits", async () => {
    for (const [alert, file, expected] of [
      ["error.json", "apps/checkout/deployment.yaml", "image: registry.example.com/shop/checkout:v1.1.0"],
      ["cpu.json", "apps/checkout/hpa.yaml", "minReplicas: 3"],
    ] as const) {
      const repo = await configRepo();
      const dir = `run-${repos}`;
      await writeFile(join(work, `${dir}.yaml`), config(repo.url, dir));
      const child = spawn(process.execPath, [bin, "run", "-c", `${dir}.yaml`], {
        cwd: work,
        env: { PATH: process.env.PATH },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
      try {
        let url: string | undefined;
        for (let tries = 0; tries < 300 && url === undefined; tries++) {
          url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
          if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(url, stderr).toBeDefined();
        const posted = await fetch(`${url}/webhook/alertmanager`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: await readFile(join(work, alert), "utf8"),
        });
        expect(posted.status).toBeLessThan(300);
        let content = "";
        for (let tries = 0; tries < 600 && !content.includes(expected); tries++) {
          content = await runGit(["--git-dir", repo.path, "show", `main:${file}`]).catch(() => "");
          if (!content.includes(expected)) await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(content, stderr).toContain(expected);
        const log = await runGit(["--git-dir", repo.path, "log", "-1", "--format=%B", "main"]);
        expect(log).toContain("Selfheal-Incident: ");
        expect(log).toMatch(/^Selfheal-Decision: builtin@\d{4}-/m);
      } finally {
        child.kill("SIGTERM");
      }
      expect(await exited).toBe(0);
      if (alert !== "cpu.json") continue;
      // A new HighCPU alert replayed against this store's history (read only) meets the cooldown
      // production would apply after the scale-up that just landed; without it, it would act.
      await writeFile(join(work, "cpu-again.json"), payload("HighCPU", "f3"));
      const journal = async () => {
        const files = await readdir(join(work, dir, "state"));
        return Promise.all(
          files.sort().map(async (name) => [name, (await stat(join(work, dir, "state", name))).size]),
        );
      };
      const before = await journal();
      const withHistory = await runInProcess(
        ["replay", "-c", `${dir}.yaml`, "--history", "--json", "cpu-again.json"],
        {
          cwd: work,
        },
      );
      expect(withHistory.code, withHistory.stderr).toBe(0);
      const [replayed] = (
        JSON.parse(withHistory.stdout) as { incidents: { guardrails: { reason?: string } }[] }
      ).incidents;
      expect(replayed, withHistory.stdout.slice(0, 3000)).toMatchObject({
        guardrails: { reason: "cooldown" },
      });
      const without = await runInProcess(["replay", "-c", `${dir}.yaml`, "--json", "cpu-again.json"], {
        cwd: work,
      });
      const [fresh] = (JSON.parse(without.stdout) as { incidents: { guardrails: { verdict: string } }[] })
        .incidents;
      expect(fresh?.guardrails.verdict).toBe("allowed");
      expect(await journal()).toEqual(before);
    }
  }, 180_000);
});
