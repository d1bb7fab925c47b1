import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ArgocdApplication, argocdClient, argocdRefresh, argocdSync } from "@selfheal/adapter-argocd";
import type { Incident } from "@selfheal/core";
import { makeIncident } from "@selfheal/core/testing";
import { openGitWorkspace, setContainerImage, setReplicas } from "@selfheal/gitops";
import { startGitHttpServer } from "@selfheal/gitops/testing";
import { afterEach, describe, expect, it } from "vitest";
import {
  deploymentManifest,
  type LoopEnvironment,
  type SyncAgent,
  startLoopEnvironment,
  startSyncAgent,
} from "../src/loop/index.js";
import { definition, type SwaggerProxy, schemaErrors, startSwaggerProxy } from "./loop-argocd-proxy.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  // Proxies close last-in first-out, after the agents: their close() fails the test on a problem.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function environment(): Promise<LoopEnvironment & { proxy: SwaggerProxy }> {
  const loop = await startLoopEnvironment({ selfLoad: 0, pollMs: 200 });
  const proxy = await startSwaggerProxy(loop.argocdUrl);
  cleanups.push(() => proxy.close(), loop.stop);
  return { ...loop, proxy };
}

/** Commit `image` into the manifest on main and push it, as a remediation would; the new SHA. */
function pushImage(repoUrl: string, manifestPath: string, image: string): Promise<string> {
  return pushText(repoUrl, manifestPath, (text) => setContainerImage(text, { image }).text);
}

/** Commit new content (or an edit of the current one) of `manifestPath` on main and push it. */
async function pushText(
  repoUrl: string,
  manifestPath: string,
  content: string | ((text: string) => string),
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "selfheal-loop-push-"));
  try {
    const workspace = openGitWorkspace({ url: repoUrl, dir });
    const signal = AbortSignal.timeout(10_000);
    const head = await workspace.refresh(signal);
    const text = await workspace.readFile(head, manifestPath);
    if (text === undefined) throw new Error(`${manifestPath} missing`);
    const sha = await workspace.commit({
      parent: head,
      files: [{ path: manifestPath, content: typeof content === "string" ? content : content(text) }],
      message: `Change ${manifestPath}`,
    });
    if (sha === undefined) throw new Error("nothing to commit");
    const status = await workspace.push({ ref: "refs/heads/main", oldSha: head, newSha: sha }, signal);
    expect(status.ok).toBe(true);
    return sha;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Read the application through `url` until `done` holds; every state seen, in order. */
async function watch(url: string, done: (app: ArgocdApplication) => boolean, withinMs: number) {
  const client = argocdClient({ url, retryForMs: 0 });
  const seen: ArgocdApplication[] = [];
  const deadline = Date.now() + withinMs;
  try {
    for (;;) {
      const app = await client.getApplication("checkout");
      seen.push(app);
      if (done(app) || Date.now() > deadline) return { app, seen };
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    await client.close();
  }
}

const syncedAt = (revision: string) => (app: ArgocdApplication) =>
  app.status?.sync?.status === "Synced" &&
  app.status.sync.revision === revision &&
  app.status.health?.status === "Healthy";

function incidentAt(revision: string): Incident {
  const at = new Date().toISOString();
  const idempotencyKey = "checkout-higherrorrate-0123456789/rollback";
  return makeIncident({
    state: "syncing",
    plan: {
      idempotencyKey,
      incidentId: "checkout-higherrorrate-0123456789",
      service: "checkout",
      action: "rollback",
      params: {},
      remediator: "gitops",
      summary: "roll checkout back to v1.1.0",
      changes: [{ target: "apps/checkout/deployment.yaml", description: "image v1.2.0 → v1.1.0" }],
    },
    result: { idempotencyKey, status: "applied", reused: false, revision, startedAt: at, finishedAt: at },
  });
}

async function verify(url: string, revision: string, sync: boolean) {
  const verifier = argocdSync({
    url,
    app: (incident) => incident.service,
    sync,
    pollIntervalMs: 100,
    // Generous: a verification that passes ends at its verdict, not at this deadline.
    timeoutMs: 15_000,
  });
  const incident = incidentAt(revision);
  const { plan, result } = incident;
  if (plan === undefined || result === undefined) throw new Error("incident without plan/result");
  return verifier.verify({ incident, plan, result, signal: AbortSignal.timeout(20_000) });
}

describe("startSyncAgent in the loop environment", () => {
  it("starts Synced and Healthy at main's head, with the branch's past as its history", async () => {
    const loop = await environment();
    const client = argocdClient({ url: loop.proxy.url, retryForMs: 0 });
    cleanups.push(() => client.close());
    const app = await client.refresh("checkout");
    expect(app.status?.sync?.status).toBe("Synced");
    expect(app.status?.health?.status).toBe("Healthy");
    const history = await client.history("checkout");
    expect(history.map((entry) => entry.id)).toEqual([1, 0]);
    expect(history[0]?.revision).toBe(app.status?.sync?.revision);
    expect(loop.service.starts).toBe(1);
    expect(loop.service.version).toBe("v1.2.0");
  });

  it("deploys a pushed image by itself and reports Synced and Healthy at the pushed revision", async () => {
    const loop = await environment();
    const firstPid = loop.service.pid;
    const sha = await pushImage(loop.repoUrl, loop.manifestPath, "registry.example.com/checkout:v1.1.0");
    // Nobody asks for a refresh or a sync: the agent's own poll of git finds the push. How soon
    // (about 0.6 to 1.3 s) is not asserted: a generous deadline keeps a busy machine from
    // failing a test about behaviour, not speed.
    const { app } = await watch(loop.proxy.url, syncedAt(sha), 20_000);
    expect(syncedAt(sha)(app)).toBe(true);
    expect(loop.service.version).toBe("v1.1.0");
    expect(loop.service.pid).not.toBe(firstPid);
    const health = await fetch(`${loop.service.url}/healthz`);
    expect(await health.json()).toMatchObject({ version: "v1.1.0" });
    expect(app.status?.operationState).toMatchObject({ phase: "Succeeded", syncResult: { revision: sha } });
    expect(app.status?.history?.at(-1)).toMatchObject({ id: 2, revision: sha });
  });

  it("scales the running service in place for a commit that changes only spec.replicas", async () => {
    const loop = await environment();
    const firstPid = loop.service.pid;
    expect(loop.service.replicas).toBe(3);
    const sha = await pushText(
      loop.repoUrl,
      loop.manifestPath,
      (text) => setReplicas(text, { replicas: 4 }).text,
    );
    const { app } = await watch(loop.proxy.url, syncedAt(sha), 20_000);
    expect(syncedAt(sha)(app)).toBe(true);
    // A scale is no rollout: the same process (pods) runs on, with one pod more.
    expect(loop.service.pid).toBe(firstPid);
    expect(loop.service.starts).toBe(1);
    expect(loop.service.replicas).toBe(4);
    const metrics = await (await fetch(loop.service.metricsUrl)).text();
    expect(metrics).toContain('kube_deployment_spec_replicas{namespace="default",deployment="checkout"} 4');
    expect(metrics.match(/^container_cpu_usage_seconds_total\{/gm)).toHaveLength(4);
    expect(app.status?.operationState).toMatchObject({ phase: "Succeeded", syncResult: { revision: sha } });
  });

  it("satisfies the real argocdSync verifier and refresh hook for the pushed revision", async () => {
    const loop = await environment();
    const sha = await pushImage(loop.repoUrl, loop.manifestPath, "registry.example.com/checkout:v1.1.0");
    const refreshed = await argocdRefresh({ url: loop.proxy.url }).refresh("checkout");
    expect(refreshed).toMatchObject({ refreshed: true, revision: sha });
    const verdict = await verify(loop.proxy.url, sha, false);
    expect(verdict.outcome, verdict.reason).toBe("passed");
    expect(verdict.reason).toContain(`Synced and Healthy at ${sha}`);
    // With `sync` it passes too (the app is already there, so it needs no sync call).
    const synced = await verify(loop.proxy.url, sha, true);
    expect(synced.outcome, synced.reason).toBe("passed");
    // A manual sync of the same revision: accepted, recorded, nothing redeployed.
    const client = argocdClient({ url: loop.proxy.url, retryForMs: 0 });
    cleanups.push(() => client.close());
    const accepted = await client.sync("checkout", { revision: sha });
    expect(accepted.status?.sync?.revision).toBe(sha);
    const sent = loop.proxy.exchanges.find((exchange) => exchange.operationId === "ApplicationService_Sync");
    expect(sent?.body).toMatchObject({ operation: { sync: { revision: sha } } });
    const { app } = await watch(loop.proxy.url, (seen) => seen.status?.history?.length === 4, 15_000);
    expect(app.status?.history?.at(-1)).toMatchObject({ id: 3, revision: sha });
    expect(app.status?.operationState).toMatchObject({ phase: "Succeeded", syncResult: { revision: sha } });
    expect(loop.service.starts).toBe(2);
    expect(loop.service.version).toBe("v1.1.0");
  }, 60_000);

  it("reports a deploy that fails as a failed sync, which the verifier fails on", async () => {
    const loop = await environment();
    const sha = await pushImage(loop.repoUrl, loop.manifestPath, "registry.example.com/checkout:v9.9.9");
    const verdict = await verify(loop.proxy.url, sha, false);
    expect(verdict.outcome).toBe("failed");
    expect(verdict.reason).toMatch(/sync of [0-9a-f]{40} failed: deploy of v9\.9\.9 failed/);
    // The running version was never stopped for a version the service does not know.
    expect(loop.service.version).toBe("v1.2.0");
  });

  it("answers another application, a wrong method and a bad sync body with Argo CD's errors", async () => {
    const loop = await environment();
    const missing = await fetch(`${loop.proxy.url}/api/v1/applications/payments`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({
      code: 5,
      message: 'applications.argoproj.io "payments" not found',
    });
    // Straight to the agent: the proxy would rightly flag these requests themselves.
    const badBody = await fetch(`${loop.argocdUrl}/api/v1/applications/checkout/sync`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ revision: 42 }),
    });
    expect(badBody.status).toBe(400);
    const error = await badBody.json();
    expect(schemaErrors(definition("runtimeError"), error)).toEqual([]);
    expect(error).toMatchObject({ code: 3 });
    const wrongMethod = await fetch(`${loop.argocdUrl}/api/v1/applications/checkout`, { method: "DELETE" });
    expect(wrongMethod.status).toBe(404);
  });
});

describe("startSyncAgent with an unreadable manifest", () => {
  it("reports a ComparisonError condition and keeps the last known state", async () => {
    const loop = await environment();
    const client = argocdClient({ url: loop.proxy.url, retryForMs: 0 });
    cleanups.push(() => client.close());
    const before = await client.getApplication("checkout");
    await pushText(loop.repoUrl, loop.manifestPath, "kind: Deployment\nspec: [unclosed\n");
    await client.refresh("checkout");
    const exchange = loop.proxy.exchanges.at(-1);
    expect(exchange?.body).toMatchObject({
      status: { conditions: [{ type: "ComparisonError" }], sync: before.status?.sync },
    });
    expect(loop.service.starts).toBe(1);
  });
});

describe("startSyncAgent while a deploy runs", () => {
  it("is OutOfSync and Progressing with a Running operation, refuses a second sync, then is Synced", async () => {
    const git = await startGitHttpServer();
    cleanups.push(() => git.close());
    const manifestPath = "apps/checkout/deployment.yaml";
    const repo = await git.createRepo("config", {
      [manifestPath]: deploymentManifest("checkout", "registry.example.com/checkout:v1.2.0"),
    });
    let release: () => void = () => {};
    const deploys: string[] = [];
    const token = "agent-test-token";
    const agent: SyncAgent = await startSyncAgent({
      repoUrl: repo.url,
      manifestPath,
      deployed: "v1.2.0",
      pollMs: 60_000,
      token,
      deploy: (version) => {
        deploys.push(version);
        return new Promise((resolve) => {
          release = resolve;
        });
      },
    });
    const proxy = await startSwaggerProxy(agent.url);
    cleanups.push(
      () => proxy.close(),
      () => agent.close(),
    );
    const client = argocdClient({ url: proxy.url, token, retryForMs: 0 });
    cleanups.push(() => client.close());

    const sha = await pushImage(repo.url, manifestPath, "registry.example.com/checkout:v1.1.0");
    const during = await client.refresh("checkout");
    expect(during.status?.sync).toMatchObject({ status: "OutOfSync", revision: sha });
    expect(during.status?.health?.status).toBe("Progressing");
    expect(during.status?.operationState).toMatchObject({
      phase: "Running",
      operation: { sync: { revision: sha } },
    });
    expect(deploys).toEqual(["v1.1.0"]);
    await expect(client.sync("checkout", { revision: sha })).rejects.toThrow(
      /another operation is already in progress/,
    );

    release();
    const anonymous = await fetch(`${proxy.url}/api/v1/applications/checkout`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 16 });
    // Wait for the released deploy to be reported (a generous deadline, not a fixed pause).
    const deadline = Date.now() + 15_000;
    let after = await client.getApplication("checkout");
    while (!syncedAt(sha)(after) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      after = await client.getApplication("checkout");
    }
    expect(syncedAt(sha)(after)).toBe(true);
    expect(after.status?.history?.map((entry) => entry.revision).at(-1)).toBe(sha);
    expect(deploys).toEqual(["v1.1.0"]);
  });
});
