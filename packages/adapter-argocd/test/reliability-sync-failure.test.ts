// A failing Argo CD sync inside a controller: the `argocdSync` verifier, against the
// swagger-checked stand-in, sees the sync of our revision fail; the controller records the failed
// verification, skips the recovery check, opens the circuit and escalates.
import { createController, memoryStore, silentLogger } from "@selfheal/core";
import {
  makeSignal,
  recordingNotifier,
  recordingRemediator,
  scriptedVerifier,
  staticPolicy,
} from "@selfheal/core/testing";
import { afterEach, expect, it } from "vitest";
import { argocdSync } from "../src/index.js";
import {
  appModel,
  failOperation,
  ourRevision,
  serveGet,
  serveSync,
  startOperation,
} from "./argocd-app-model.js";
import { type StandIn, startStandIn } from "./argocd-stand-in.js";

const token = "eyJhbGciOiJIUzI1NiJ9.c2VsZmhlYWwtdGVzdA.c2lnbmF0dXJlLXNlY3JldA";
let standIn: StandIn | undefined;
afterEach(async () => {
  // Throws on a request the swagger does not allow, or an expected call never made.
  await standIn?.close();
  standIn = undefined;
});

it("a sync that fails in Argo CD → verification failed → escalated, circuit open, recovery not checked", async () => {
  standIn = await startStandIn({ token });
  const app = appModel("checkout");
  serveGet(standIn, app);
  serveSync(standIn, app, () => {
    app.steps.push(
      (a) => startOperation(a, ourRevision),
      (a) => failOperation(a, ourRevision, "one or more objects failed to apply, reason: admission denied"),
    );
    return undefined;
  });
  const remediator = recordingRemediator({ outcome: { revision: ourRevision }, failOnDoubleApply: true });
  const recovery = scriptedVerifier(["passed"], { name: "recovery", stage: "recovery" });
  const notifier = recordingNotifier();
  const controller = createController({
    policy: staticPolicy({ action: "rollback", reason: "errors", params: {} }),
    remediate: remediator,
    verify: [
      argocdSync({
        url: standIn.url,
        token,
        app: (incident) => incident.service,
        sync: true,
        pollIntervalMs: 10,
      }),
      recovery,
    ],
    notify: [notifier],
    store: memoryStore(),
    logger: silentLogger,
    guardrails: { cooldown: 0 },
  });
  try {
    await controller.handle([makeSignal({ service: "checkout", alertname: "HighErrorRate" })]);
    await controller.settled();

    const [incident] = await controller.store.listIncidents();
    expect(remediator.applies).toHaveLength(1);
    expect(incident?.state).toBe("escalated");
    expect(incident?.closeReason).toMatch(
      new RegExp(
        `^verification failed: argocd-sync: checkout: sync of ${ourRevision} failed: one or more objects failed to apply`,
      ),
    );
    expect(incident?.verifications.map((v) => [v.verifier, v.outcome])).toEqual([["argocd-sync", "failed"]]);
    expect(recovery.calls).toBe(0);

    const types = (await controller.store.listEvents({ incidentId: incident?.id ?? "" })).map((e) => e.type);
    expect(types).toEqual(
      expect.arrayContaining(["remediation.completed", "verification.failed", "incident.closed"]),
    );
    expect(types).not.toContain("verification.passed");
    expect(await controller.store.listEvents({ types: ["circuit.opened"] })).toHaveLength(1);
    expect(notifier.sent.map((sent) => sent.kind)).toContain("escalated");
    // Argo CD was asked to sync our revision, as the remediation recorded it.
    const sync = standIn.requests.find((request) => request.operationId === "ApplicationService_Sync");
    expect(sync?.body).toMatchObject({ revision: ourRevision });
  } finally {
    await controller.close({ timeout: 1000 });
  }
});
