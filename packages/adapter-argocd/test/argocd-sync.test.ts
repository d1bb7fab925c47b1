import type { Incident, JsonObject } from "@selfheal/core";
import { makeIncident, testVerifierContract } from "@selfheal/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { type ArgocdSyncSettings, argocdSync } from "../src/index.js";
import {
  applicationJson,
  appModel,
  deploy,
  failOperation,
  oldRevision,
  ourRevision,
  serveGet,
  serveSync,
  startOperation,
} from "./argocd-app-model.js";
import { hold, runtimeError, type StandIn, startStandIn } from "./argocd-stand-in.js";

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

function incidentAt(revision: string | undefined = ourRevision): Incident {
  const at = "2026-08-20T10:16:00.000Z";
  return makeIncident({
    state: "syncing",
    plan: {
      idempotencyKey: "checkout-higherrorrate-0123456789/rollback",
      incidentId: "checkout-higherrorrate-0123456789",
      service: "checkout",
      action: "rollback",
      params: {},
      remediator: "gitops",
      summary: "roll checkout back to v1.1.0",
      changes: [{ target: "apps/checkout/kustomization.yaml", description: "image v1.2.0 → v1.1.0" }],
    },
    result: {
      idempotencyKey: "checkout-higherrorrate-0123456789/rollback",
      status: "applied",
      reused: false,
      ...(revision === undefined ? {} : { revision }),
      startedAt: at,
      finishedAt: at,
    },
  });
}

async function verify(standIn: StandIn, settings: Partial<ArgocdSyncSettings> = {}, incident = incidentAt()) {
  const verifier = argocdSync({
    url: standIn.url,
    token,
    app: (i) => i.service,
    pollIntervalMs: 10,
    // Generous: a verification that passes ends at its verdict, not at this deadline, and a
    // loaded machine must not turn a pass into "not Synced in time".
    timeoutMs: 10_000,
    ...settings,
  } as ArgocdSyncSettings);
  const { plan, result } = incident;
  if (plan === undefined || result === undefined) throw new Error("incident without plan/result");
  const verdict = await verifier.verify({ incident, plan, result, signal: AbortSignal.timeout(20_000) });
  const evidence = (verdict.evidence?.argocd ?? {}) as JsonObject;
  return { verdict, evidence };
}

describe("argocdSync", () => {
  it("passes once auto-sync made the app Synced and Healthy at our revision", async () => {
    const standIn = await start();
    const app = appModel();
    app.steps.push(
      () => {},
      (a) => startOperation(a, ourRevision),
      (a) => deploy(a, ourRevision, "Progressing"),
      () => {},
      (a) => {
        a.health = "Healthy";
      },
    );
    serveGet(standIn, app);
    const { verdict, evidence } = await verify(standIn);
    expect(verdict.outcome).toBe("passed");
    expect(verdict.verifier).toBe("argocd-sync");
    expect(verdict.reason).toBe(`checkout: Synced and Healthy at ${ourRevision}`);
    expect(evidence).toMatchObject({
      app: "checkout",
      revision: ourRevision,
      syncStatus: "Synced",
      syncRevision: ourRevision,
      health: "Healthy",
      operation: { phase: "Succeeded", revision: ourRevision, ours: true },
      polls: 5,
      syncRequested: false,
    });
    expect(evidence.timings).toHaveProperty("atRevisionMs");
    expect(standIn.requests[0]?.query.get("refresh")).toBe("normal");
    expect(standIn.requests.slice(1).every((request) => !request.query.has("refresh"))).toBe(true);
    expect(standIn.requests.every((request) => request.headers.authorization === `Bearer ${token}`)).toBe(
      true,
    );
  });

  it("does not accept Synced at an old revision with an old successful operation", async () => {
    const standIn = await start();
    const app = appModel();
    serveGet(standIn, app);
    const { verdict, evidence } = await verify(standIn, { timeoutMs: 2000 });
    expect(verdict.outcome).toBe("failed");
    expect(verdict.reason).toContain(`Argo CD compares against ${oldRevision}, not ${ourRevision}`);
    expect(evidence).toMatchObject({
      syncStatus: "Synced",
      syncRevision: oldRevision,
      health: "Healthy",
      operation: { phase: "Succeeded", revision: oldRevision, ours: false },
    });
    expect(evidence.polls).toBeGreaterThan(5);
  });

  it("waits for our operation to finish even when Synced and Healthy at our revision", async () => {
    const standIn = await start();
    const app = appModel();
    app.steps.push((a) => {
      startOperation(a, ourRevision);
      a.revision = ourRevision; // compared and applied, PostSync hook still running
    });
    serveGet(standIn, app, () => {
      if (app.steps.length === 0 && app.operationState?.phase === "Running" && standIn.requests.length > 4) {
        deploy(app, ourRevision);
      }
    });
    const { verdict } = await verify(standIn);
    expect(verdict.outcome).toBe("passed");
    expect(standIn.requests.length).toBeGreaterThan(4);
  });

  it("syncs to our revision, retrying while another operation is in progress", async () => {
    const standIn = await start();
    const app = appModel();
    startOperation(app, oldRevision); // an auto-sync of the old revision is still running
    serveGet(standIn, app);
    serveSync(standIn, app, (_request, attempt) => {
      if (attempt <= 2)
        return { status: 400, body: runtimeError(9, "another operation is already in progress") };
      app.steps.push(
        (a) => deploy(a, oldRevision),
        (a) => startOperation(a, ourRevision),
        (a) => deploy(a, ourRevision),
      );
      return undefined;
    });
    const { verdict, evidence } = await verify(standIn, { sync: true });
    expect(verdict.outcome).toBe("passed");
    const syncs = standIn.requests.filter((request) => request.operationId === "ApplicationService_Sync");
    expect(syncs).toHaveLength(3);
    expect(syncs[2]?.body).toEqual({ revision: ourRevision, prune: false, dryRun: false });
    expect(evidence).toMatchObject({ syncRequested: true, syncAttempts: 3 });
    expect(evidence.problems).toEqual([
      'Argo CD sync "checkout": another operation is already in progress',
      'Argo CD sync "checkout": another operation is already in progress',
    ]);
  });

  it("ignores a failed operation for our revision left from before its sync call", async () => {
    const standIn = await start();
    const app = appModel();
    failOperation(app, ourRevision, "an earlier attempt failed");
    serveGet(standIn, app);
    serveSync(standIn, app, () => {
      app.steps.push(
        (a) => startOperation(a, ourRevision),
        (a) => deploy(a, ourRevision),
      );
      return undefined;
    });
    const { verdict } = await verify(standIn, { sync: true });
    expect(verdict.outcome).toBe("passed");
  });

  it("fails with the sync error and the failing resources", async () => {
    const standIn = await start();
    const app = appModel();
    serveGet(standIn, app);
    serveSync(standIn, app, () => {
      app.steps.push(
        (a) => startOperation(a, ourRevision),
        (a) => failOperation(a, ourRevision, "one or more objects failed to apply, reason: admission denied"),
      );
      return undefined;
    });
    const { verdict, evidence } = await verify(standIn, { sync: true });
    expect(verdict.outcome).toBe("failed");
    expect(verdict.reason).toBe(
      `checkout: sync of ${ourRevision} failed: one or more objects failed to apply, reason: admission denied; ` +
        'failing resources: Deployment/shop/checkout: admission webhook "validate.kyverno.svc" denied the request',
    );
    expect(evidence).toMatchObject({ operation: { phase: "Failed", ours: true } });
  });

  it("fails when Degraded at our revision beyond the grace period", async () => {
    const standIn = await start();
    const app = appModel();
    app.steps.push((a) => {
      deploy(a, ourRevision, "Degraded");
      a.healthMessage = "Deployment checkout exceeded its progress deadline";
    });
    serveGet(standIn, app);
    const { verdict, evidence } = await verify(standIn, { degradedGraceMs: 100 });
    expect(verdict.outcome).toBe("failed");
    expect(verdict.reason).toBe(
      `checkout: Synced at ${ourRevision}, health Degraded (Deployment checkout exceeded its progress deadline) for more than 100 ms`,
    );
    expect(evidence).toMatchObject({ health: "Degraded", syncRevision: ourRevision });
  });

  it("tolerates Degraded within the grace period", async () => {
    const standIn = await start();
    const app = appModel();
    app.steps.push(
      (a) => deploy(a, ourRevision, "Degraded"),
      () => {},
      (a) => {
        a.health = "Healthy";
      },
    );
    serveGet(standIn, app);
    const { verdict } = await verify(standIn, { degradedGraceMs: 5000 });
    expect(verdict.outcome).toBe("passed");
  });

  it("fails at its deadline with what it saw", async () => {
    const standIn = await start();
    const app = appModel();
    app.steps.push((a) => deploy(a, ourRevision, "Progressing"));
    serveGet(standIn, app);
    const { verdict, evidence } = await verify(standIn, { timeoutMs: 2000 });
    // It gives up at its own deadline, 10% before its timeout, so its verdict beats the
    // controller's timeout; it waited that long (a lower bound holds on a loaded machine).
    expect(verdict.outcome).toBe("failed");
    expect(verdict.reason).toBe(
      `checkout: not Synced and Healthy at ${ourRevision} within 1800 ms; last seen: Synced at ${ourRevision}, health Progressing`,
    );
    expect(evidence).toMatchObject({ health: "Progressing", syncStatus: "Synced" });
    expect((evidence.timings as JsonObject).elapsedMs).toBeGreaterThanOrEqual(1800);
  });

  it("polls without the refresh's answer when the refresh is slow", async () => {
    const standIn = await start();
    const app = appModel();
    deploy(app, ourRevision);
    // The refresh's answer is held until the verdict is in: a verifier that waited for it
    // would reach its deadline and fail instead of passing.
    const refreshAnswer = hold();
    standIn.expect("ApplicationService_Get", async (request) => {
      if (request.query.has("refresh")) await refreshAnswer.promise;
      return { status: 200, body: applicationJson(app) };
    });
    const { verdict, evidence } = await verify(standIn, { refreshWaitMs: 50 });
    refreshAnswer.release();
    expect(verdict.outcome).toBe("passed");
    expect(evidence.problems).toEqual([expect.stringMatching(/abort|timeout/i)]);
  });

  it("keeps polling through 5xx answers and says so when it never saw the app", async () => {
    const standIn = await start();
    standIn.expect("ApplicationService_Get", () => ({
      status: 503,
      body: runtimeError(14, "upstream connect error"),
    }));
    const { verdict, evidence } = await verify(standIn, { timeoutMs: 2000 });
    expect(verdict.outcome).toBe("failed");
    expect(verdict.reason).toBe(
      `checkout: not Synced and Healthy at ${ourRevision} within 1800 ms; last seen: nothing ` +
        '(last problem: Argo CD getApplication "checkout": 503 upstream connect error)',
    );
    expect(evidence).toMatchObject({ seen: false, polls: 0 });
    expect(standIn.requests.length).toBeGreaterThan(3);
  });

  it("fails at once, clearly, when the token is refused", async () => {
    const standIn = await start();
    const app = appModel();
    deploy(app, ourRevision);
    serveGet(standIn, app);
    const { verdict } = await verify(standIn, { token: "not-the-token-0000" });
    expect(verdict.outcome).toBe("failed");
    expect(verdict.reason).toContain("401 unauthenticated: the token is missing, expired or invalid");
    expect(JSON.stringify(verdict)).not.toContain("not-the-token-0000");
    expect(standIn.requests).toHaveLength(1);
    expect((await verify(standIn)).verdict.outcome).toBe("passed"); // with the right token
  });

  it("fails at once when the application does not exist", async () => {
    const standIn = await start();
    serveGet(standIn, appModel());
    const { verdict } = await verify(standIn, { app: "payments", refresh: "hard" });
    expect(verdict.outcome).toBe("failed");
    expect(verdict.reason).toContain('application "payments" not found');
    expect(standIn.requests[0]?.query.get("refresh")).toBe("hard");
  });
});

testVerifierContract("argocdSync", async () => {
  const standIn = await startStandIn({ token });
  const app = appModel();
  deploy(app, ourRevision);
  serveGet(standIn, app);
  const verifier = argocdSync({
    url: standIn.url,
    token,
    app: "checkout",
    pollIntervalMs: 10,
    timeoutMs: 10_000,
  });
  return {
    verifier,
    incident: incidentAt(),
    // An aborted verifier rightly asks Argo CD nothing: only requests that broke the API
    // contract fail the run, not a GET the stand-in was told to expect and never saw.
    cleanup: () =>
      standIn.close().catch((error: unknown) => {
        if (standIn.problems.length > 0) throw error;
      }),
  };
});
