import { makeDecisionInput, makeIncident, testEnricherContract } from "@selfheal/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { argocdClient, argocdRefresh, argocdStatus } from "../src/index.js";
import { appModel, deploy, oldRevision, ourRevision, serveGet, startOperation } from "./argocd-app-model.js";
import { hold, type StandIn, startStandIn } from "./argocd-stand-in.js";

const token = "eyJhbGciOiJIUzI1NiJ9.c2VsZmhlYWwtdGVzdA.c2lnbmF0dXJlLXNlY3JldA";
const standIns: StandIn[] = [];
afterEach(async () => {
  for (const standIn of standIns.splice(0)) await standIn.close();
});

async function start(): Promise<StandIn> {
  const standIn = await startStandIn({ token });
  standIns.push(standIn);
  return standIn;
}

describe("argocdRefresh", () => {
  it("asks Argo CD to reconcile now and reports what it compares against", async () => {
    const standIn = await start();
    const app = appModel();
    app.steps.push((a) => {
      a.syncStatus = "OutOfSync";
      a.revision = ourRevision;
    });
    serveGet(standIn, app);
    const { refresh } = argocdRefresh({ url: standIn.url, token });
    const done = await refresh("checkout");
    expect(done).toMatchObject({
      app: "checkout",
      refreshed: true,
      revision: ourRevision,
      syncStatus: "OutOfSync",
    });
    expect(done.error).toBeUndefined();
    await refresh("checkout", { hard: true });
    expect(standIn.requests.map((request) => request.query.get("refresh"))).toEqual(["normal", "hard"]);
  });

  it("reports a failure instead of throwing", async () => {
    const standIn = await start();
    serveGet(standIn, appModel());
    const client = argocdClient({ url: standIn.url, token, project: "shop" });
    const refresher = argocdRefresh({ client });
    const done = await refresher.refresh("payments");
    expect(done.refreshed).toBe(false);
    expect(done.error?.kind).toBe("not_found");
    expect(done.error?.message).toContain('application "payments" not found');
  });

  it("stops waiting after its time limit", async () => {
    const standIn = await start();
    // Argo CD's answer is held until the refresh returned: it stopped waiting, it did not get one.
    // 1 s, not less: the request must reach the stand-in (which checks it was called) first.
    const held = hold();
    standIn.expect("ApplicationService_Get", async () => {
      await held.promise;
      return { status: 200, body: {} };
    });
    const done = await argocdRefresh({ url: standIn.url, token, timeoutMs: 1000 }).refresh("checkout");
    held.release();
    expect(done.refreshed).toBe(false);
    expect(done.error?.kind).toBe("timeout");
  });
});

describe("argocdStatus", () => {
  it("reports sync, health, the last operation and the deployed revisions, newest first", async () => {
    const standIn = await start();
    const app = appModel();
    deploy(app, ourRevision);
    startOperation(app, oldRevision);
    app.syncStatus = "OutOfSync";
    serveGet(standIn, app);
    const enricher = argocdStatus({
      url: standIn.url,
      token,
      app: (incident) => incident.service,
      historyLimit: 1,
    });
    const found = await enricher.enrich({
      incident: makeIncident(),
      input: makeDecisionInput(),
      signal: AbortSignal.timeout(5000),
    });
    expect(enricher.name).toBe("argocd");
    expect(found.facts).toEqual({
      app: "checkout",
      sync_status: "OutOfSync",
      revision: ourRevision,
      health_status: "Healthy",
      operation_phase: "Running",
      deployed: [{ id: 1, revision: ourRevision, deployed_at: app.history[1]?.deployedAt }],
    });
    expect(standIn.requests[0]?.query.has("refresh")).toBe(false);
  });
});

testEnricherContract("argocdStatus", async () => {
  const standIn = await startStandIn({ token });
  serveGet(standIn, appModel());
  return {
    enricher: argocdStatus({ url: standIn.url, token, app: "checkout" }),
    cleanup: () => standIn.close(),
  };
});
