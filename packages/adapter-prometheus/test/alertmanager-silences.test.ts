import { BadInputError, createController, memoryStore, silentLogger } from "@selfheal/core";
import { makeIncident, makeSignal, recordingRemediator, staticPolicy } from "@selfheal/core/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { alertmanagerSilenceHook, alertmanagerSilences } from "../src/index.js";
import {
  alertmanagerBinary,
  binaryAvailable,
  type RunningServer,
  startAlertmanager,
} from "../src/testing/index.js";
import { alertmanagerSpecChecker, recordingDispatcher } from "./spec-check.js";

// Outside CI a machine without Alertmanager skips; in CI the missing binary fails the run.
const skip = !(await binaryAvailable(alertmanagerBinary())) && process.env.CI !== "true";

const signal = () => AbortSignal.timeout(10_000);

interface ListedSilence {
  id: string;
  status: { state: string };
  createdBy: string;
  comment: string;
  matchers: { name: string; value: string; isRegex: boolean }[];
}

describe.skipIf(skip)("alertmanagerSilences against a real Alertmanager", () => {
  let alertmanager: RunningServer | undefined;
  const recorder = recordingDispatcher();
  let checker: Awaited<ReturnType<typeof alertmanagerSpecChecker>>;
  const url = () => alertmanager?.url ?? "http://127.0.0.1:1";
  const listed = async (): Promise<ListedSilence[]> => {
    const response = await fetch(`${url()}/api/v2/silences`);
    expect(response.status).toBe(200);
    return (await response.json()) as ListedSilence[];
  };

  beforeAll(async () => {
    checker = await alertmanagerSpecChecker();
    alertmanager = await startAlertmanager({ webhookUrl: "http://127.0.0.1:9/unused" });
  }, 40_000);

  afterAll(async () => {
    await alertmanager?.stop();
    await recorder.close();
  });

  afterEach(() => {
    const problems = recorder.requests.flatMap((request) => checker.check(request));
    recorder.requests.length = 0;
    expect(problems).toEqual([]);
  });

  it("as a controller hook: silences the alert while the remediation runs, expires it when the incident closes", async () => {
    let during: ListedSilence[] = [];
    const controller = createController({
      store: memoryStore(),
      logger: silentLogger,
      policy: staticPolicy({ action: "rollback", reason: "errors" }),
      remediate: recordingRemediator({
        beforeApply: async () => {
          during = (await listed()).filter((silence) => silence.status.state === "active");
        },
      }),
      hooks: [alertmanagerSilenceHook({ url: url(), dispatcher: recorder.dispatcher, duration: "15m" })],
      guardrails: { cooldown: 0 },
    });
    try {
      await controller.handle([
        makeSignal({ service: "hooked", labels: { alertname: "HighErrorRate", service: "hooked" } }),
      ]);
      await controller.settled();
      const [incident] = await controller.store.listIncidents();
      expect(incident?.state).toBe("resolved");
      expect(during.map((silence) => silence.comment)).toEqual([
        `selfheal incident ${incident?.id}: rollback in flight`,
      ]);
      const after = (await listed()).find((silence) => silence.id === during[0]?.id);
      expect(after?.status.state).toBe("expired");
      const trail = await controller.store.listEvents({ types: ["hook.completed"] });
      expect(trail.map((event) => event.data?.stage)).toEqual(["beforeRemediation", "afterClose"]);
    } finally {
      await controller.close({ timeout: 1000 });
    }
  });

  it("creates a silence for the incident's alert and expires it", async () => {
    const silences = alertmanagerSilences({ url: url(), dispatcher: recorder.dispatcher, duration: "15m" });
    const incident = makeIncident();
    const created = await silences.create({ incident, signal: signal(), comment: "rollback under way" });
    expect(created.reused).toBe(false);
    const active = (await listed()).find((silence) => silence.id === created.silenceId);
    expect(active).toMatchObject({
      status: { state: "active" },
      createdBy: "selfheal",
      comment: `selfheal incident ${incident.id}: rollback under way`,
    });
    expect(active?.matchers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "alertname", value: "HighErrorRate", isRegex: false }),
        expect.objectContaining({ name: "service", value: "checkout", isRegex: false }),
        expect.objectContaining({ name: "namespace", value: "shop", isRegex: false }),
      ]),
    );
    expect(active?.matchers).toHaveLength(Object.keys(incident.labels).length);
    expect(recorder.requests.map((request) => `${request.method} ${request.pathname}`)).toEqual([
      "GET /api/v2/silences",
      "POST /api/v2/silences",
    ]);

    // After a restart the same call finds the silence instead of adding another.
    const again = await silences.create({ incident, signal: signal() });
    expect(again).toMatchObject({ silenceId: created.silenceId, reused: true });

    expect(await silences.expire({ silenceId: created.silenceId, signal: signal() })).toEqual({
      expired: true,
    });
    const expired = (await listed()).find((silence) => silence.id === created.silenceId);
    expect(expired?.status.state).toBe("expired");
    // Expiring twice is not an error: it is expired either way.
    expect(await silences.expire({ silenceId: created.silenceId, signal: signal() })).toEqual({
      expired: true,
    });
    // An unknown id answers 404: nothing to end.
    const unknown = "6f1b7f4e-0000-4000-8000-000000000000";
    expect(await silences.expire({ silenceId: unknown, signal: signal() })).toEqual({ expired: false });
    // An expired silence is not reused: a new one is made.
    const fresh = await silences.create({ incident, signal: signal() });
    expect(fresh.reused).toBe(false);
    expect(fresh.silenceId).not.toBe(created.silenceId);
    await silences.expire({ silenceId: fresh.silenceId, signal: signal() });
  });

  it("silences by the chosen labels only", async () => {
    const silences = alertmanagerSilences({
      url: url(),
      dispatcher: recorder.dispatcher,
      matchLabels: ["alertname", "service"],
    });
    const created = await silences.create({
      incident: makeIncident({ id: "labels-only" }),
      signal: signal(),
    });
    const silence = (await listed()).find((candidate) => candidate.id === created.silenceId);
    expect(silence?.matchers.map((matcher) => matcher.name).sort()).toEqual(["alertname", "service"]);
    await silences.expire({ silenceId: created.silenceId, signal: signal() });
  });

  it("refuses to silence by a label the controller redacted, and asks Alertmanager nothing", async () => {
    const silences = alertmanagerSilences({ url: url(), dispatcher: recorder.dispatcher });
    const incident = makeIncident({ id: "redacted-label" });
    const redacted = { ...incident, labels: { ...incident.labels, dsn: "postgres://[REDACTED]@db/x" } };
    const error = await silences.create({ incident: redacted, signal: signal() }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toMatch(/label dsn held a credential/);
    expect(recorder.requests).toEqual([]);
    // Silencing by labels without secrets still works.
    const chosen = alertmanagerSilences({
      url: url(),
      dispatcher: recorder.dispatcher,
      matchLabels: ["alertname", "service"],
    });
    const created = await chosen.create({ incident: redacted, signal: signal() });
    await chosen.expire({ silenceId: created.silenceId, signal: signal() });
  });

  it("reports a refused request as a SelfHealError naming the operation and status", async () => {
    const silences = alertmanagerSilences({ url: url(), dispatcher: recorder.dispatcher });
    const error = await silences.expire({ silenceId: "not-a-uuid", signal: signal() }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    // Alertmanager 0.25 refuses an id that is not a UUID with 422.
    expect(error).toMatchObject({ adapter: "alertmanager", operation: "expireSilence", status: 422 });
    const none = alertmanagerSilences({ url: url(), matchLabels: ["nothing"] });
    await expect(none.create({ incident: makeIncident(), signal: signal() })).rejects.toBeInstanceOf(
      BadInputError,
    );
  });
});
