import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  binaryAvailable,
  prometheusBinary,
  type RunningServer,
  startPrometheus,
} from "@selfheal/adapter-prometheus/testing";
import { type GitHttpServer, runGit, startGitHttpServer } from "@selfheal/gitops/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "./cli-harness.js";

// The second "done when", through `selfheal run` on a real git server: two config
// repositories, services in observe and act mode, each doing exactly what its mode says, and the
// readiness report on the recorded history.
const noPrometheus = !(await binaryAvailable(prometheusBinary())) && process.env.CI !== "true";
const root = fileURLToPath(new URL("../../../", import.meta.url));
const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

const deployment = (name: string, tag: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: ${name}\n          image: registry.example.com/${name}:${tag}\n`;

async function repoOf(server: GitHttpServer, name: string, files: (tag: string) => Record<string, string>) {
  return server.createRepo(name, files("v1"), { commits: [{ message: "v2", files: files("v2") }] });
}

const alert = (service: string, labels: Record<string, string>, fingerprint: string) => ({
  status: "firing",
  labels: { alertname: "HighErrorRate", service, severity: "critical", selfheal: "enabled", ...labels },
  annotations: {},
  startsAt: new Date().toISOString(),
  endsAt: "0001-01-01T00:00:00Z",
  generatorURL: "",
  fingerprint,
});

const payload = (alerts: unknown[], status = "firing") =>
  JSON.stringify({
    version: "4",
    groupKey: "{}:{}",
    truncatedAlerts: 0,
    status,
    receiver: "selfheal",
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://alertmanager.invalid",
    alerts,
  });

describe.skipIf(noPrometheus)("services: observe and act, end to end", () => {
  let server: GitHttpServer;
  let prometheus: RunningServer;
  let receiver: Server;
  const notified: string[] = [];
  let work: string;

  beforeAll(async () => {
    await promisify(execFile)("pnpm", ["exec", "tsc", "-b", "packages/cli"], { cwd: root });
    [server, prometheus] = await Promise.all([startGitHttpServer(), startPrometheus()]);
    receiver = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on("end", () => {
        notified.push(body);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    work = await mkdtemp(join(tmpdir(), "selfheal-services-e2e-"));
  }, 120_000);

  afterAll(async () => {
    await Promise.all([server?.close(), prometheus?.stop()]);
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await rm(work, { recursive: true, force: true });
  });

  it("observe changes nothing and notifies only when asked; act commits to its own repository", async () => {
    const platform = await repoOf(server, "platform", (tag) => ({
      "apps/checkout/deployment.yaml": deployment("checkout", tag),
      "apps/search/deployment.yaml": deployment("search", tag),
      "apps/billing/deployment.yaml": deployment("billing", tag),
    }));
    const payments = await repoOf(server, "payments", (tag) => ({
      "services/ledger/deployment.yaml": deployment("ledger", tag),
    }));
    const { port } = receiver.address() as AddressInfo;
    await writeFile(
      join(work, "selfheal.yaml"),
      [
        "listen: { host: 127.0.0.1, port: 0 }",
        "enrich:",
        `  prometheus: { url: "${prometheus.url}", levelCheck: false, queries: { error_rate: "vector(0.2)", restart_count: "vector(5)" } }`,
        "policy: { builtin: {} }",
        "remediate:",
        "  gitops:",
        `    repo: { url: "${platform.url}", dir: state/platform }`,
        '    locate: { globs: ["apps/**/*.yaml"] }',
        "    quarantine: false",
        `notify: { webhook: { url: "http://127.0.0.1:${port}/hook" } }`,
        "services:",
        "  defaults: { mode: observe }",
        "  optIn: { label: selfheal, value: enabled }",
        "  groups:",
        "    - match: { team: payments }",
        `      repo: { url: "${payments.url}", dir: state/payments }`,
        '      locate: { globs: ["services/**/*.yaml"] }',
        "  byName:",
        "    checkout: { mode: act }",
        "    ledger: { mode: act }",
        "    billing: { notify: true }",
        "store: { file: { dir: state/store, fsync: false } }",
        "",
      ].join("\n"),
    );
    const child = spawn(process.execPath, [bin, "run"], { cwd: work, env: { PATH: process.env.PATH } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
    const before = {
      platform: await runGit(["--git-dir", platform.path, "rev-parse", "main"]),
      payments: await runGit(["--git-dir", payments.path, "rev-parse", "main"]),
    };
    try {
      let url: string | undefined;
      for (let tries = 0; tries < 300 && url === undefined; tries++) {
        url = /listening on (http:\/\/\S+)/.exec(stdout)?.[1];
        if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(url, stderr).toBeDefined();
      const alerts = [
        alert("checkout", {}, "a1"),
        alert("ledger", { team: "payments" }, "a2"),
        alert("search", {}, "a3"),
        alert("billing", {}, "a4"),
      ];
      const posted = await fetch(`${url}/webhook/alertmanager`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: payload(alerts),
      });
      expect(posted.status).toBeLessThan(300);
      const closed = async () => {
        const audit = await runInProcess(["audit", "--json"], { cwd: work });
        if (audit.code !== 0) return [];
        return (JSON.parse(audit.stdout) as { incidents: { service: string; outcome: string }[] }).incidents;
      };
      let incidents: { service: string; outcome: string }[] = [];
      for (let tries = 0; tries < 600; tries++) {
        incidents = await closed();
        if (incidents.length === 4 && incidents.every((incident) => incident.outcome !== "open")) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const outcomes = Object.fromEntries(incidents.map((incident) => [incident.service, incident.outcome]));
      expect(outcomes, stderr).toEqual({
        checkout: "resolved",
        ledger: "resolved",
        search: "suppressed",
        billing: "suppressed",
      });
      // act: one commit each, each in its own repository.
      expect(
        await runGit(["--git-dir", platform.path, "show", "main:apps/checkout/deployment.yaml"]),
      ).toContain("registry.example.com/checkout:v1");
      expect(
        await runGit(["--git-dir", payments.path, "show", "main:services/ledger/deployment.yaml"]),
      ).toContain("registry.example.com/ledger:v1");
      // observe: nothing changed in either repository for search and billing.
      const platformLog = await runGit([
        "--git-dir",
        platform.path,
        "log",
        "--format=%s",
        `${before.platform.trim()}..main`,
      ]);
      expect(platformLog.trim().split("\n")).toHaveLength(1);
      expect(
        await runGit(["--git-dir", platform.path, "show", "main:apps/search/deployment.yaml"]),
      ).toContain("search:v2");
      expect(
        await runGit(["--git-dir", platform.path, "show", "main:apps/billing/deployment.yaml"]),
      ).toContain("billing:v2");
      // observe notifies only the service that asked for it.
      const aboutObserved = notified.filter((body) => /"service":"(search|billing)"/.test(body));
      expect(aboutObserved.some((body) => body.includes('"service":"billing"'))).toBe(true);
      expect(aboutObserved.some((body) => body.includes('"service":"search"'))).toBe(false);
      // search resolves by itself a moment later: a would-be false trigger.
      // The same alert (same startsAt) as Alertmanager sends it when it resolves.
      const resolved = { ...alerts[2], status: "resolved", endsAt: new Date().toISOString() };
      await fetch(`${url}/webhook/alertmanager`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: payload([resolved], "resolved"),
      });
      let readiness: { services: { service: string; wouldAct: number; selfResolved: number }[] } = {
        services: [],
      };
      for (let tries = 0; tries < 300; tries++) {
        const answer = await runInProcess(["audit", "--readiness", "--window", "10m", "--json"], {
          cwd: work,
        });
        readiness = JSON.parse(answer.stdout) as typeof readiness;
        if (readiness.services.find((row) => row.service === "search")?.selfResolved === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(readiness.services).toEqual([
        expect.objectContaining({
          service: "billing",
          wouldAct: 1,
          selfResolved: 0,
          falseTriggerRate: 0,
          actions: { rollback: 1 },
        }),
        expect.objectContaining({ service: "checkout", wouldAct: 0, selfResolved: 0 }),
        expect.objectContaining({ service: "ledger", wouldAct: 0, selfResolved: 0 }),
        expect.objectContaining({ service: "search", wouldAct: 1, selfResolved: 1, falseTriggerRate: 1 }),
      ]);
      const table = await runInProcess(["audit", "--readiness"], { cwd: work });
      expect(table.stdout).toMatch(/^search\s+1\s+1\s+100\.0%\s+rollback 1\s+-$/m);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  }, 180_000);
});
