import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
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
// The GitLab stand-in of the GitLab adapter's tests (checked against shared/contracts/gitlab-api.md),
// over the same bare repository the git server serves, as GitLab's API and git share one.
import { startGitLabStandIn } from "../../adapter-gitlab/test/support/gitlab-stand-in.js";
import {
  contract as gitLabContract,
  token as gitLabToken,
} from "../../adapter-gitlab/test/support/harness.js";
import { runInProcess, startRun } from "./cli-harness.js";

// The second "done when", through `selfheal run` on a real git server: two config
// repositories, services in observe, propose and act mode, each doing exactly what its mode says,
// and the readiness report on the recorded history.
const noPrometheus = !(await binaryAvailable(prometheusBinary())) && process.env.CI !== "true";
const root = fileURLToPath(new URL("../../../", import.meta.url));

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

/** An incident as `selfheal audit --json` lists it. */
interface AuditedIncident {
  readonly id: string;
  readonly service: string;
  readonly state: string;
  readonly outcome: string;
  readonly action?: string;
  readonly reason?: string;
  readonly chain?: readonly { readonly stage: string; readonly status: string; readonly detail: string }[];
}

/** Read the ledger with `selfheal audit --json` until `done` holds (600 reads at most); the last read. */
async function auditUntil(cwd: string, done: (incidents: readonly AuditedIncident[]) => boolean) {
  let incidents: AuditedIncident[] = [];
  for (let tries = 0; tries < 600; tries++) {
    const audit = await runInProcess(["audit", "--json"], { cwd });
    if (audit.code === 0)
      incidents = (JSON.parse(audit.stdout) as { incidents: AuditedIncident[] }).incidents;
    if (done(incidents)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return incidents;
}

describe.skipIf(noPrometheus)("services: observe, propose and act, end to end", () => {
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
    const run = startRun(work);
    const before = {
      platform: await runGit(["--git-dir", platform.path, "rev-parse", "main"]),
      payments: await runGit(["--git-dir", payments.path, "rev-parse", "main"]),
    };
    try {
      const url = await run.listening();
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
      expect(outcomes, run.output.stderr).toEqual({
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
      run.child.kill("SIGTERM");
    }
    expect(await run.exited).toBe(0);
  }, 180_000);
  it("propose opens a merge request and never commits to main; act commits; observe only records", async () => {
    const shop = await repoOf(server, "shop", (tag) => ({
      "apps/checkout/deployment.yaml": deployment("checkout", tag),
      "apps/cart/deployment.yaml": deployment("cart", tag),
      "apps/search/deployment.yaml": deployment("search", tag),
    }));
    const project = "acme/shop";
    const gitlab = await startGitLabStandIn({
      contract: gitLabContract,
      project,
      token: gitLabToken,
      gitDir: shop.path,
    });
    const dir = join(work, "propose");
    await mkdir(dir);
    await writeFile(
      join(dir, "selfheal.yaml"),
      [
        "listen: { host: 127.0.0.1, port: 0 }",
        "enrich:",
        `  prometheus: { url: "${prometheus.url}", levelCheck: false, queries: { error_rate: "vector(0.2)", restart_count: "vector(5)" } }`,
        "policy: { builtin: {} }",
        "remediate:",
        "  gitops:",
        `    repo: { url: "${shop.url}", dir: state/shop }`,
        `    forge: { gitlab: { url: "${gitlab.url}", project: ${project}, token: "\${GITLAB_TOKEN}" } }`,
        '    locate: { globs: ["apps/**/*.yaml"] }',
        "    quarantine: false",
        "services:",
        "  defaults: { mode: observe }",
        "  byName:",
        "    checkout: { mode: act }",
        "    cart: { mode: propose }",
        "store: { file: { dir: state/store, fsync: false } }",
        "",
      ].join("\n"),
    );
    const git = (...args: string[]) => runGit(["--git-dir", shop.path, ...args]);
    const before = (await git("rev-parse", "main")).trim();
    const run = startRun(dir, { GITLAB_TOKEN: gitLabToken });
    try {
      const url = await run.listening();
      const posted = await fetch(`${url}/webhook/alertmanager`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: payload([alert("checkout", {}, "p1"), alert("cart", {}, "p2"), alert("search", {}, "p3")]),
      });
      expect(posted.status).toBeLessThan(300);
      const settled = (incidents: readonly AuditedIncident[]) =>
        incidents.length === 3 &&
        incidents.every((incident) =>
          incident.service === "cart" ? incident.state === "awaiting_merge" : incident.outcome !== "open",
        );
      const incidents = await auditUntil(dir, settled);
      const byService = Object.fromEntries(
        incidents.map((incident) => [incident.service, { state: incident.state, action: incident.action }]),
      );
      expect(byService, run.output.stderr).toEqual({
        checkout: { state: "resolved", action: "rollback" },
        cart: { state: "awaiting_merge", action: "rollback" },
        search: { state: "suppressed", action: "rollback" },
      });

      // propose: one merge request, from a branch of its own onto main, that rolls cart back...
      const cart = incidents.find((incident) => incident.service === "cart");
      expect(
        gitlab.model.mergeRequests.map((request) => [
          request.sourceBranch,
          request.targetBranch,
          request.state,
        ]),
      ).toEqual([[`selfheal/${cart?.id}/rollback`, "main", "opened"]]);
      const proposed = await git("diff", "--unified=0", `main...selfheal/${cart?.id}/rollback`);
      expect(proposed.split("\n").filter((line) => /^[-+] /.test(line))).toEqual([
        "-          image: registry.example.com/cart:v2",
        "+          image: registry.example.com/cart:v1",
      ]);
      // ...and nothing of cart on main: the only commit on main since is checkout's (act), on top
      // of what was there (no force push).
      expect((await git("log", "--format=%s", `${before}..main`)).trim().split("\n")).toEqual([
        expect.stringMatching(/rollback checkout/),
      ]);
      await git("merge-base", "--is-ancestor", before, "main");
      const changedOnMain = await git("diff", "--name-only", before, "main");
      expect(changedOnMain.trim().split("\n")).toEqual(["apps/checkout/deployment.yaml"]);
      expect(await git("show", "main:apps/checkout/deployment.yaml")).toContain("checkout:v1");
      expect(await git("show", "main:apps/cart/deployment.yaml")).toContain("cart:v2");
      // observe: no branch, no merge request, no commit; the would-be rollback is recorded.
      expect(await git("show", "main:apps/search/deployment.yaml")).toContain("search:v2");
      const branches = (await git("for-each-ref", "--format=%(refname:short)", "refs/heads"))
        .trim()
        .split("\n");
      expect(branches.sort()).toEqual(["main", `selfheal/${cart?.id}/rollback`]);
      const search = incidents.find((incident) => incident.service === "search");
      expect(search?.reason).toBe(
        "rollback suppressed (dry_run): observe mode (search): planned, not carried out",
      );
      expect(search?.chain?.at(-1)).toMatchObject({
        stage: "change",
        status: "skipped",
        detail: expect.stringMatching(
          /^dry run: Roll search back from registry\.example\.com\/search:v2 to registry\.example\.com\/search:v1 /,
        ),
      });
      const readiness = await runInProcess(["audit", "--readiness", "--json"], { cwd: dir });
      expect((JSON.parse(readiness.stdout) as { services: unknown[] }).services).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ service: "search", wouldAct: 1, actions: { rollback: 1 } }),
        ]),
      );
    } finally {
      run.child.kill("SIGTERM");
      await gitlab.close();
    }
    // Shut down with cart's merge request still open: the controller stops cleanly.
    expect(await run.exited, run.output.stderr).toBe(0);
    // Every request to the GitLab API was one its contract allows.
    gitlab.verify();
  }, 180_000);
});
