import { afterEach, describe, expect, it } from "vitest";
import {
  type Controller,
  type ControllerSettings,
  createController,
  type IngestEntry,
  jsonLogger,
  memoryStore,
  type Signal,
  type Store,
  StoreError,
} from "../src/index.js";
import {
  configuredSecret,
  recordingNotifier,
  recordingRemediator,
  secretCorpus,
  secretsFoundIn,
  staticPolicy,
} from "../src/testing/index.js";
import { alertSignal, eventually } from "./helpers.js";

const open: Controller[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((controller) => controller.close({ timeout: 1000 })));
});

function controller(settings: Partial<ControllerSettings> & { store: Store }): Controller {
  const created = createController({
    policy: staticPolicy({ action: "none", reason: "watch only" }),
    logger: jsonLogger({ write: () => undefined }),
    guardrails: { cooldown: 0 },
    ...settings,
  });
  open.push(created);
  return created;
}

/** A memory store that keeps the JSON of every ingest call: what the store was given. */
function spyStore(): { store: Store; given: string[] } {
  const inner = memoryStore();
  const given: string[] = [];
  const store: Store = {
    ...inner,
    ingest(entries: readonly IngestEntry[]) {
      given.push(JSON.stringify(entries));
      return inner.ingest(entries);
    },
  };
  return { store, given };
}

/** A firing signal carrying the whole corpus in its labels, annotations, URL and group key. */
function leakySignal(overrides: Partial<Signal> = {}): Signal {
  const base = alertSignal(overrides);
  return {
    ...base,
    labels: {
      ...base.labels,
      ...Object.fromEntries(secretCorpus.map((sample, index) => [`leak_${index}`, sample.text])),
    },
    annotations: {
      description: secretCorpus.map((sample) => sample.text).join("\n"),
      runbook: "canary-runbook",
    },
    generatorUrl: `https://deploy:UrlPassFake771@prometheus.example.com/graph?token=qwerty-fake-tok-778`,
    groupKey: `{}:{service="checkout", leak="${configuredSecret}"}`,
    ...overrides,
  };
}

describe("intake redaction", () => {
  it("redacts every field of a signal before the store sees it; a redelivery is still a duplicate", async () => {
    const { store, given } = spyStore();
    const running = controller({ store, secrets: [configuredSecret] });
    const signal = leakySignal();
    expect(secretsFoundIn(JSON.stringify(signal))).toHaveLength(secretCorpus.length);

    const [first] = await running.handle([signal]);
    const [again] = await running.handle([{ ...signal, receivedAt: new Date().toISOString() }]);
    expect(first?.disposition).toBe("opened");
    expect(again?.disposition).toBe("duplicate");
    expect(again?.incident?.id).toBe(first?.incident?.id);

    const stored = JSON.stringify([
      given,
      await running.store.listIncidents(),
      await running.store.listEvents(),
    ]);
    expect(secretsFoundIn(stored)).toEqual([]);
    // What was there is still said, redacted, and what was not a secret is kept.
    expect(first?.incident?.labels.leak_0).toBe("token ghp_[REDACTED]");
    expect(first?.incident?.annotations.runbook).toBe("canary-runbook");
    expect(first?.incident?.generatorUrl).toBe(
      "https://[REDACTED]@prometheus.example.com/graph?token=[REDACTED]",
    );
    // Alertmanager-like identities hold no secret: kept as they are.
    expect(first?.incident?.fingerprint).toBe(signal.fingerprint);
    expect(given[0]).toContain(JSON.stringify(signal.dedupKey));
  });

  it("keeps alerts that differ only in a secret of their incident key apart, with no secret in key or id", async () => {
    const { store } = spyStore();
    const running = controller({ store, secrets: [configuredSecret], incidentKey: ["service", "tenant"] });
    const tenant = (suffix: string) =>
      alertSignal({
        fingerprint: `fp-${suffix}`,
        labels: { alertname: "HighErrorRate", service: "checkout", tenant: `${configuredSecret}-${suffix}` },
      });
    const outcomes = await running.handle([tenant("a"), tenant("b"), tenant("a")]);
    expect(outcomes.map((outcome) => outcome.disposition)).toEqual(["opened", "opened", "duplicate"]);
    const incidents = await running.store.listIncidents();
    expect(incidents).toHaveLength(2);
    for (const incident of incidents) {
      expect(incident.key).toMatch(/^checkout\/\[REDACTED\]-[ab]#[0-9a-f]{32}$/);
      expect(incident.id.toLowerCase()).not.toContain(configuredSecret.toLowerCase());
      expect(incident.id.replace(/-/g, "")).not.toContain(configuredSecret.toLowerCase().replace(/-/g, ""));
    }
  });

  it("redacts with each controller's own secrets when two run in one process", async () => {
    const secretA = "controller-a-only-secret";
    const secretB = "controller-b-only-secret";
    const a = controller({ store: memoryStore(), secrets: [secretA] });
    const b = controller({ store: memoryStore(), secrets: [secretB] });
    const signal = alertSignal({ annotations: { description: `a=${secretA} b=${secretB}` } });
    const [inA] = await a.handle([signal]);
    const [inB] = await b.handle([signal]);
    expect(inA?.incident?.annotations.description).toBe(`a=[REDACTED] b=${secretB}`);
    expect(inB?.incident?.annotations.description).toBe(`a=${secretA} b=[REDACTED]`);
  });

  it("redacts log lines, audit events, notifications and plans with the configured secrets", async () => {
    const lines: string[] = [];
    const notifier = recordingNotifier();
    const remediator = recordingRemediator({
      beforeApply: () => {
        throw new Error(
          `forge refused the token ${configuredSecret} (Authorization: Bearer BearerFakeValue0a1b2c3d4e)`,
        );
      },
    });
    const running = controller({
      store: memoryStore(),
      secrets: [configuredSecret],
      // Any logger: the controller redacts before handing it a line.
      logger: {
        debug: (message, fields) => lines.push(JSON.stringify({ message, fields })),
        info: (message, fields) => lines.push(JSON.stringify({ message, fields })),
        warn: (message, fields) => lines.push(JSON.stringify({ message, fields })),
        error: (message, fields) => lines.push(JSON.stringify({ message, fields })),
      },
      policy: staticPolicy({ action: "rollback", reason: `because ${configuredSecret} leaked`, params: {} }),
      remediate: remediator,
      notify: [notifier],
    });
    await running.handle([leakySignal()]);
    await running.settled();
    const [incident] = await running.store.listIncidents();
    expect(incident?.state).toBe("escalated");
    const trail = await running.store.listEvents();
    const failed = trail.find((event) => event.type === "remediation.failed");
    // The marker is where the secret was: the assertions below would see a leak.
    expect(failed?.message).toBe(
      "recording: forge refused the token [REDACTED] (Authorization: Bearer [REDACTED])",
    );
    expect(lines.join("\n")).toContain("[REDACTED]");
    await eventually(() => notifier.sent.length > 0);
    expect(JSON.stringify(notifier.sent)).toContain("[REDACTED]");
    const everything = JSON.stringify([incident, trail, lines, notifier.sent]);
    expect(secretsFoundIn(everything)).toEqual([]);
  });

  it("redacts the message of a webhook answer (a store error quoting its connection)", async () => {
    const failing: Store = {
      ...memoryStore(),
      ingest: () =>
        Promise.reject(new StoreError(`connection to db failed: password ${configuredSecret} refused`)),
    };
    const running = controller({
      store: failing,
      secrets: [configuredSecret],
      sources: [{ name: "test", route: { path: "/hook", parse: () => [alertSignal()] } }],
    });
    const listening = await running.listen({ port: 0, host: "127.0.0.1" });
    const answer = await fetch(`${listening.url}/hook`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(answer.status).toBe(503);
    const body = await answer.text();
    expect(body).toContain("password [REDACTED] refused");
    expect(body).not.toContain(configuredSecret);
  });
});
