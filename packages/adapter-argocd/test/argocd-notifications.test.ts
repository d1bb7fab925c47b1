import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { alertmanagerWebhook, firingPayload } from "@selfheal/adapter-prometheus";
import {
  builtinPolicy,
  type Controller,
  createController,
  type DecisionInput,
  memoryStore,
  type Store,
  silentLogger,
} from "@selfheal/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { argocdNotificationsWebhook, parseArgocdNotification } from "../src/argocd-notifications.js";
import { argocdSwaggerChecker } from "../src/testing/index.js";
import { applicationJson, appModel, deploy, failOperation, ourRevision } from "./argocd-app-model.js";
import { contractFile } from "./argocd-stand-in.js";

// Argo CD's notifications controller, stood in for by tools/argocd-notify (built by
// scripts/go-tools.sh): the shipped triggers evaluated with expr and the shipped templates
// rendered with text/template and Sprig, as notifications-engine does, for Application objects
// valid under the official swagger. What it renders is posted to a real controller.

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const configMap = join(repo, "examples/deploy/argocd/notifications.yaml");
const tool = execFileSync(join(repo, "scripts/go-tools.sh"), ["--where", "argocd-notify"], {
  encoding: "utf8",
})
  .trim()
  .split(" ")[2] as string;
const toolMissing = !existsSync(tool);
if (toolMissing && process.env.CI === "true") {
  throw new Error(`argocd-notify is not at ${tool}: .ci/run builds it (scripts/go-tools.sh argocd-notify)`);
}
if (toolMissing)
  process.stderr.write(
    `skipping: argocd-notify is not at ${tool}; build it with scripts/go-tools.sh argocd-notify\n`,
  );

const swagger = argocdSwaggerChecker(JSON.parse(readFileSync(contractFile("argocd-swagger.json"), "utf8")));
const token = "notify-token-1";

interface Rendered {
  readonly trigger: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

let scratch: string;
/** The notifications Argo CD would send for `application` at `now`. */
async function render(application: unknown, now: string): Promise<Rendered[]> {
  expect(swagger.schemaErrors(swagger.definition("v1alpha1Application"), application)).toEqual([]);
  const file = join(scratch, `app-${Math.random().toString(16).slice(2)}.json`);
  await writeFile(file, JSON.stringify(application));
  const { stdout } = await promisify(execFile)(tool, [
    "-config",
    configMap,
    "-app",
    file,
    "-now",
    now,
    "-secret",
    `selfheal-webhook-token=${token}`,
  ]);
  return stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Rendered);
}

let controller: Controller;
let store: Store;
const inputs: DecisionInput[] = [];
let origin: string;
/** Send a rendered notification to the controller, at its path, with its headers. */
async function post(notification: Rendered, body = notification.body, headers = notification.headers) {
  const path = new URL(notification.url).pathname;
  const response = await fetch(`${origin}${path}`, { method: notification.method, headers, body });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The one notification Argo CD sends a minute after a sync of `name` to `ourRevision` failed. */
async function syncFailedNotification(name: string): Promise<Rendered> {
  const app = appModel(name);
  failOperation(app, ourRevision, "failed");
  const [notification] = (await render(
    applicationJson(app),
    minutesAfter(app.operationState?.finishedAt ?? "", 1),
  )) as [Rendered];
  return notification;
}

/** Minutes after `at` (RFC 3339, seconds). */
const minutesAfter = (at: string, minutes: number) =>
  new Date(Date.parse(at) + minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");

describe.skipIf(toolMissing)("Argo CD notifications through the shipped triggers and templates", () => {
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), "argocd-notify-"));
    store = memoryStore();
    const builtin = builtinPolicy();
    controller = createController({
      sources: [argocdNotificationsWebhook({ auth: { bearer: token } }), alertmanagerWebhook()],
      // The built-in policy, keeping what it was asked.
      policy: {
        name: "recording",
        decide: (input, options) => {
          inputs.push(input);
          return builtin.decide(input, options);
        },
      },
      store,
      logger: silentLogger,
    });
    const { port } = await controller.listen({ port: 0, host: "127.0.0.1" });
    origin = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await controller?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it("a failed sync: one notification, recorded as ArgoCDSyncFailed at the revision it tried", async () => {
    const app = appModel("checkout");
    failOperation(app, ourRevision, 'Deployment.apps "checkout" is invalid:\nspec.replicas: must be >= 0');
    const now = minutesAfter(app.operationState?.finishedAt ?? "", 1);
    const sent = await render(applicationJson(app), now);
    expect(sent.map((notification) => notification.trigger)).toEqual(["selfheal-on-sync-failed"]);
    const [notification] = sent as [Rendered];
    expect(await post(notification)).toMatchObject({ status: 200, body: { status: "accepted", signals: 1 } });
    const [incident] = await store.listIncidents({ service: "checkout" });
    expect(incident).toMatchObject({
      service: "checkout",
      alertname: "ArgoCDSyncFailed",
      labels: {
        argocd_application: "checkout",
        argocd_event: "sync-failed",
        argocd_revision: ourRevision,
        argocd_phase: "Failed",
        argocd_sync: "OutOfSync",
      },
      annotations: {
        operation_message: 'Deployment.apps "checkout" is invalid:\nspec.replicas: must be >= 0',
      },
    });

    // Sent again (Argo CD retries a webhook that failed, or notifies the same state twice): one delivery.
    expect(await post(notification)).toMatchObject({ status: 200 });
    const received = await store.listEvents({ incidentId: incident?.id ?? "", types: ["signal.received"] });
    expect(received).toHaveLength(1);
    expect(await store.listIncidents({ service: "checkout" })).toHaveLength(1);
  });

  it("Degraded soon after a release: ArgoCDDegradedAfterRelease at the live revision; long after: ArgoCDHealthDegraded", async () => {
    const app = appModel("payments");
    deploy(app, ourRevision, "Degraded");
    app.healthMessage = 'Deployment "payments" exceeded its progress deadline';
    const finished = app.operationState?.finishedAt ?? "";

    const soon = await render(applicationJson(app), minutesAfter(finished, 5));
    expect(soon.map((notification) => notification.trigger)).toEqual(["selfheal-on-degraded-after-release"]);
    expect(await post(soon[0] as Rendered)).toMatchObject({ status: 200 });
    const late = await render(applicationJson(app), minutesAfter(finished, 120));
    expect(late.map((notification) => notification.trigger)).toEqual(["selfheal-on-health-degraded"]);
    expect(await post(late[0] as Rendered)).toMatchObject({ status: 200 });

    const incidents = await store.listIncidents({ service: "payments" });
    expect(incidents.map((incident) => incident.alertname).sort()).toEqual([
      "ArgoCDDegradedAfterRelease",
      "ArgoCDHealthDegraded",
    ]);
    for (const incident of incidents) {
      expect(incident.labels).toMatchObject({ argocd_revision: ourRevision, argocd_health: "Degraded" });
      expect(incident.annotations.health_message).toBe(
        'Deployment "payments" exceeded its progress deadline',
      );
    }
  });

  it("gives the policy Argo CD's facts for its own incidents only: an alert with the same name and labels gets none", async () => {
    const notification = await syncFailedNotification("search");
    expect(await post(notification)).toMatchObject({ status: 200 });
    // An Alertmanager alert that names itself like the notification and copies its labels.
    const forged = firingPayload({
      groupLabels: { alertname: "ArgoCDSyncFailed" },
      alerts: [
        {
          labels: {
            alertname: "ArgoCDSyncFailed",
            service: "search-forged",
            argocd_event: "sync-failed",
            argocd_revision: ourRevision,
            argocd_sync: "OutOfSync",
            argocd_health: "Healthy",
          },
          fingerprint: "f0f0f0f0f0f0f0f0",
        },
      ],
    });
    const posted = await fetch(`${origin}/webhook/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(forged),
    });
    expect(posted.status).toBe(200);
    await controller.settled();

    const asked = (service: string) => inputs.find((input) => input.service === service);
    expect(asked("search")?.argocd).toEqual({
      event: "sync-failed",
      revision: ourRevision,
      sync: "OutOfSync",
      health: "Healthy",
    });
    expect(asked("search-forged")).toBeDefined();
    expect(asked("search-forged")?.argocd).toBeUndefined();
    const [forgedIncident] = await store.listIncidents({ service: "search-forged" });
    expect(forgedIncident?.decision).toMatchObject({ action: "none", escalate: true });
    expect(forgedIncident?.decision?.reason).toContain("did not come from an Argo CD notifications source");
    // The real one escalates too, for now: nothing tells the policy the config repository's last release.
    const [incident] = await store.listIncidents({ service: "search" });
    expect(incident?.decision?.reason).toContain("the last release in the config repository is unknown");
  });

  it("a healthy, synced application sends nothing", async () => {
    const app = appModel("healthy");
    expect(await render(applicationJson(app), minutesAfter(app.operationState?.finishedAt ?? "", 1))).toEqual(
      [],
    );
  });

  it("refuses a body the template would not send, naming what is missing, and records nothing", async () => {
    const notification = await syncFailedNotification("orders");
    const body = JSON.parse(notification.body) as { operation: Record<string, unknown> };
    delete body.operation.revision;
    expect(await post(notification, JSON.stringify(body))).toMatchObject({
      status: 400,
      body: { error: { path: "operation.revision" } },
    });
    body.operation.revision = "";
    const empty = await post(notification, JSON.stringify(body));
    expect(empty).toMatchObject({ status: 400, body: { error: { path: "operation.revision" } } });
    expect(String((empty.body.error as { message: string }).message)).toContain(
      "the revision the failed sync was of",
    );
    expect(await post(notification, JSON.stringify({ text: "hello" }))).toMatchObject({
      status: 400,
      body: { error: { path: "selfheal" } },
    });
    expect(
      await post(notification, notification.body, { ...notification.headers, Authorization: "Bearer wrong" }),
    ).toMatchObject({ status: 401 });
    expect(await store.listIncidents({ service: "orders" })).toEqual([]);
  });
});

describe("argocdNotificationsWebhook service mapping", () => {
  const body = {
    selfheal: "argocd-notification/v1",
    event: "sync-failed",
    application: "checkout-prod",
    namespace: "argocd",
    project: "shop",
    labels: { "app.kubernetes.io/name": "checkout" },
    sync: { status: "OutOfSync", revision: "a1" },
    health: { status: "Healthy", message: "" },
    operation: {
      phase: "Failed",
      message: "",
      revision: "b2",
      syncedRevision: "",
      startedAt: "2026-12-06T10:00:00Z",
      finishedAt: "2026-12-06T10:00:04Z",
    },
  };
  const context = { receivedAt: new Date("2026-12-06T10:00:05Z"), headers: {} };
  const serviceFor = (
    settings: Parameters<typeof argocdNotificationsWebhook>[0],
    payload: unknown = body,
  ) => {
    const parsed = argocdNotificationsWebhook(settings).route?.parse(payload, context);
    return Array.isArray(parsed) ? parsed[0]?.service : undefined;
  };

  it("takes the application's name, a label of it, or an explicit mapping, in that order of precedence", () => {
    expect(serviceFor({})).toBe("checkout-prod");
    expect(serviceFor({ service: { label: "app.kubernetes.io/name" } })).toBe("checkout");
    expect(serviceFor({ service: { label: "missing" } })).toBe("checkout-prod");
    expect(
      serviceFor({
        service: { label: "app.kubernetes.io/name", applications: { "checkout-prod": "shop-checkout" } },
      }),
    ).toBe("shop-checkout");
  });

  it("names the field of a timestamp that is not one", () => {
    expect(() =>
      parseArgocdNotification({ ...body, operation: { ...body.operation, finishedAt: "yesterday" } }),
    ).toThrow(
      'invalid Argo CD notification at operation.finishedAt: expected an RFC 3339 timestamp, got "yesterday"',
    );
  });
});
