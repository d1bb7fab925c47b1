import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  builtinPolicy,
  type Controller,
  type ControllerSettings,
  createController,
  fileStore,
  type GuardrailSettings,
  memoryStore,
  SelfHealError,
  type Store,
  silentLogger,
} from "../src/index.js";
import {
  recordingNotifier,
  recordingRemediator,
  scriptedVerifier,
  staticPolicy,
} from "../src/testing/index.js";
import { alertSignal, eventually, latch, tempDir, untilAborted } from "./helpers.js";

const rollback = {
  action: "rollback",
  reason: "error rate high",
  params: { image: "checkout:v1.1.0" },
} as const;
const open: Controller[] = [];
const cleanups: (() => Promise<void>)[] = [];

function controller(settings: Partial<ControllerSettings> & { store: Store }): Controller {
  const created = createController({
    policy: staticPolicy(rollback),
    logger: silentLogger,
    guardrails: { cooldown: 0 },
    ...settings,
  });
  open.push(created);
  return created;
}

/** A temporary folder removed after the test. */
async function scratchDir(): Promise<string> {
  const { dir, cleanup } = await tempDir();
  cleanups.push(cleanup);
  return dir;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close({ timeout: 1000 })));
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

describe("controller: at-least-once delivery", () => {
  it("3 identical deliveries one after another → 1 incident, 1 action", async () => {
    const remediator = recordingRemediator({ failOnDoubleApply: true });
    const c = controller({ store: memoryStore(), remediate: remediator });
    const signal = alertSignal();
    const dispositions = [];
    for (let i = 0; i < 3; i++) dispositions.push(...(await c.handle([signal])).map((o) => o.disposition));
    await c.settled();
    expect(dispositions).toEqual(["opened", "duplicate", "duplicate"]);
    expect(await c.store.listIncidents()).toHaveLength(1);
    expect(remediator.sideEffects).toHaveLength(1);
    expect(remediator.applies).toHaveLength(1);
    const [incident] = await c.store.listIncidents();
    expect(incident?.state).toBe("resolved");
  });

  it("3 identical deliveries at once → 1 incident, 1 action", async () => {
    const remediator = recordingRemediator({ failOnDoubleApply: true });
    const dir = await scratchDir();
    const c = controller({ store: fileStore(dir), remediate: remediator });
    const signal = alertSignal();
    const results = await Promise.all([c.handle([signal]), c.handle([signal]), c.handle([signal])]);
    await c.settled();
    expect(
      results
        .flat()
        .map((o) => o.disposition)
        .sort(),
    ).toEqual(["duplicate", "duplicate", "opened"]);
    expect(await c.store.listIncidents()).toHaveLength(1);
    expect(remediator.applies).toHaveLength(1);
    const started = await c.store.listEvents({ types: ["remediation.started"] });
    expect(started).toHaveLength(1);
  });

  it("a resolved signal cancels an action that has not started", async () => {
    const hold = latch();
    const remediator = recordingRemediator();
    const c = controller({
      store: memoryStore(),
      remediate: remediator,
      policy: {
        name: "slow",
        decide: async () => {
          await hold.promise;
          return rollback;
        },
      },
    });
    await c.handle([alertSignal()]);
    await c.handle([alertSignal({ status: "resolved", endsAt: "2026-08-20T10:20:00.000Z" })]);
    hold.open();
    await c.settled();
    const [incident] = await c.store.listIncidents();
    expect(incident?.state).toBe("cancelled");
    expect(remediator.sideEffects).toHaveLength(0);
  });

  it("a resolved signal does not stop an action already under way", async () => {
    const hold = latch();
    const remediator = recordingRemediator({ beforeApply: () => hold.promise });
    const c = controller({ store: memoryStore(), remediate: remediator });
    await c.handle([alertSignal()]);
    await eventually(async () => (await c.store.listEvents({ types: ["remediation.started"] })).length === 1);
    await c.handle([alertSignal({ status: "resolved" })]);
    hold.open();
    await c.settled();
    expect(remediator.sideEffects).toHaveLength(1);
    expect((await c.store.listIncidents())[0]?.state).toBe("resolved");
  });
});

describe("controller: audit trail", () => {
  it("records every stage, before and after the side effect, in order", async () => {
    const c = controller({
      store: memoryStore(),
      remediate: recordingRemediator(),
      verify: [scriptedVerifier(["passed"])],
    });
    await c.handle([alertSignal()]);
    await c.settled();
    const [incident] = await c.store.listIncidents();
    if (incident === undefined) throw new Error("no incident");
    const types = (await c.store.listEvents({ incidentId: incident.id })).map((event) => event.type);
    expect(types).toEqual([
      "signal.received",
      "incident.opened",
      "incident.state",
      "decision.made",
      "remediation.planned",
      "guardrail.passed",
      "remediation.started",
      "incident.state",
      "remediation.completed",
      "incident.state",
      "verification.started",
      "verification.passed",
      "incident.closed",
    ]);
    const decision = (await c.store.listEvents({ incidentId: incident.id, types: ["decision.made"] }))[0];
    expect(decision?.data?.input).toMatchObject({
      service: "checkout",
      alert: { labels: { alertname: "HighErrorRate" } },
    });
  });
});

describe("controller: change requests", () => {
  it("waits for the merge of a change request, then syncs and verifies", async () => {
    const remediator = {
      ...recordingRemediator({
        outcome: {
          status: "pending_merge",
          changeRequest: { id: "42", url: "https://forge.example/pr/42", state: "open" },
        },
      }),
      awaitMerge: async () => ({
        status: "applied" as const,
        revision: "abc123",
        changeRequest: { id: "42", url: "https://forge.example/pr/42", state: "merged" as const },
      }),
    };
    const sync = scriptedVerifier(["passed"], { name: "sync", stage: "sync" });
    const c = controller({
      store: memoryStore(),
      remediate: remediator,
      verify: [sync, scriptedVerifier(["passed"])],
    });
    await c.handle([alertSignal()]);
    await c.settled();
    const [incident] = await c.store.listIncidents();
    expect(incident?.state).toBe("resolved");
    expect(incident?.result).toMatchObject({ revision: "abc123", changeRequest: { state: "merged" } });
    expect(incident?.verifications.map((v) => v.verifier)).toEqual(["sync", "scripted"]);
    const states = (await c.store.listEvents({ types: ["incident.state"] })).map((e) => e.data?.to);
    expect(states).toEqual(["deciding", "acting", "awaiting_merge", "syncing", "verifying"]);
    expect(await c.store.listEvents({ types: ["merge.completed"] })).toHaveLength(1);
  });
});

describe("controller: policy failures fail closed", () => {
  const cases: [string, ControllerSettings["policy"], RegExp][] = [
    [
      "throws",
      {
        name: "boom",
        decide: () => {
          throw new Error("rule conflict");
        },
      },
      /rule conflict/,
    ],
    ["times out", { name: "slow", decide: () => new Promise(() => {}) }, /longer than 200 ms/],
    ["returns garbage", { name: "garbage", decide: () => ({ verdict: "yes" }) as never }, /not a decision/],
  ];
  for (const [what, policy, reason] of cases) {
    it(`a policy that ${what} → no action, escalated, recorded (once retries are given up)`, async () => {
      const remediator = recordingRemediator();
      const c = controller({
        store: memoryStore(),
        remediate: remediator,
        policy,
        policyTimeout: 200,
        decisionRetry: { giveUpAfter: 0 },
      });
      await c.handle([alertSignal()]);
      await c.settled();
      const [incident] = await c.store.listIncidents();
      expect(incident?.state).toBe("escalated");
      expect(incident?.closeReason).toMatch(reason);
      expect(remediator.sideEffects).toHaveLength(0);
      expect(await c.store.listEvents({ types: ["decision.failed"] })).toHaveLength(1);
    });
  }
});

describe("controller: a decision that failed for a dependency is made again while the alert fires", () => {
  it("a policy that is unreachable twice, then answers: two recorded failures, then one action", async () => {
    const remediator = recordingRemediator();
    let calls = 0;
    const c = controller({
      store: memoryStore(),
      remediate: remediator,
      policy: {
        name: "flaky-opa",
        decide: async () => {
          calls++;
          if (calls <= 2) {
            throw new SelfHealError("connect ECONNREFUSED 127.0.0.1:8181", {
              adapter: "opa",
              retryable: true,
            });
          }
          return { action: "rollback", reason: "error rate high", params: {} };
        },
      },
      decisionRetry: { initialDelay: 10, maxDelay: 20 },
    });
    await c.handle([alertSignal()]);
    await eventually(async () => (await c.store.listIncidents())[0]?.state === "resolved");
    const failed = await c.store.listEvents({ types: ["decision.failed"] });
    expect(failed).toHaveLength(2);
    expect(failed[0]?.message).toMatch(/ECONNREFUSED.*deciding again at .*\(attempt 1\)/);
    expect(failed[1]?.message).toMatch(/\(attempt 2\)/);
    expect(await c.store.listEvents({ types: ["decision.made"] })).toHaveLength(1);
    expect(remediator.sideEffects).toHaveLength(1);
    const [incident] = await c.store.listIncidents();
    expect(incident?.decisionRetry).toMatchObject({ attempt: 2 });
  });

  it("an enricher whose source is down: enrich.failed with the cause, retried; the alert resolving ends it", async () => {
    const remediator = recordingRemediator();
    const c = controller({
      store: memoryStore(),
      remediate: remediator,
      enrich: [
        {
          name: "prometheus",
          enrich: async () => ({ failures: ["error_rate: prometheus did not answer in 2000 ms"] }),
        },
      ],
      policy: staticPolicy({ action: "none", reason: "metrics unknown: error_rate", escalate: true }),
      decisionRetry: { initialDelay: 10, maxDelay: 20 },
    });
    await c.handle([alertSignal()]);
    await eventually(async () => (await c.store.listEvents({ types: ["decision.failed"] })).length >= 2);
    const [enrichFailed] = await c.store.listEvents({ types: ["enrich.failed"] });
    expect(enrichFailed?.message).toBe("prometheus: error_rate: prometheus did not answer in 2000 ms");
    expect((await c.store.listIncidents())[0]?.state).toBe("deciding");
    await c.handle([alertSignal({ status: "resolved" })]);
    await eventually(async () => (await c.store.listIncidents())[0]?.state === "cancelled");
    expect(remediator.sideEffects).toHaveLength(0);
  });
});

describe("controller: guardrails", () => {
  it("the rate limit holds across a controller restart", async () => {
    const dir = await scratchDir();
    const first = recordingRemediator();
    const a = controller({ store: fileStore(dir), remediate: first });
    await a.handle([alertSignal({ alertname: "HighErrorRate" })]);
    await a.handle([alertSignal({ alertname: "HighLatency" })]);
    await a.settled();
    await a.close();
    expect(first.sideEffects).toHaveLength(2);

    const second = recordingRemediator();
    const b = controller({ store: fileStore(dir), remediate: second });
    await b.start();
    await b.handle([alertSignal({ alertname: "PodCrashLooping" })]);
    await b.settled();
    expect(second.sideEffects).toHaveLength(0);
    const suppressed = (await b.store.listIncidents({ states: ["suppressed"] }))[0];
    expect(suppressed?.suppression?.reason).toBe("rate_limit");
    expect(suppressed?.suppression?.detail).toMatch(/2 actions on checkout in the last 30m/);
    expect(await b.store.listEvents({ types: ["guardrail.suppressed"] })).toHaveLength(1);
  });

  it("the circuit breaker opens after a failed verification and stays open until reset", async () => {
    const remediator = recordingRemediator();
    const c = controller({
      store: memoryStore(),
      remediate: remediator,
      verify: [scriptedVerifier(["failed", "passed"])],
      guardrails: { cooldown: 0, rateLimit: false },
    });
    await c.handle([alertSignal({ alertname: "A" })]);
    await c.settled();
    const [failed] = await c.store.listIncidents();
    expect(failed?.state).toBe("escalated");
    expect(await c.store.listEvents({ types: ["circuit.opened"] })).toHaveLength(1);

    await c.handle([alertSignal({ alertname: "B" })]);
    await c.settled();
    expect(remediator.sideEffects).toHaveLength(1);
    const blocked = (await c.store.listIncidents({ states: ["suppressed"] }))[0];
    expect(blocked?.suppression?.reason).toBe("circuit_open");

    await c.resetCircuit("checkout", { by: "test" });
    await c.handle([alertSignal({ alertname: "C" })]);
    await c.settled();
    expect(remediator.sideEffects).toHaveLength(2);
    expect(await c.store.listIncidents({ states: ["resolved"] })).toHaveLength(1);
  });

  it("the kill switch file stops a side effect mid-incident", async () => {
    const dir = await scratchDir();
    const hold = latch();
    const remediator = recordingRemediator();
    const killFile = join(dir, "STOP");
    const c = controller({
      store: memoryStore(),
      remediate: remediator,
      policy: {
        name: "slow",
        decide: async () => {
          await hold.promise;
          return rollback;
        },
      },
      guardrails: { cooldown: 0, killSwitchFile: killFile },
    });
    await c.handle([alertSignal()]);
    await writeFile(killFile, "");
    hold.open();
    await c.settled();
    const [incident] = await c.store.listIncidents();
    expect(incident?.state).toBe("suppressed");
    expect(incident?.suppression?.reason).toBe("kill_switch");
    expect(remediator.sideEffects).toHaveLength(0);
  });

  it("the kill switch environment variable, set while the action is planned, stops it before its side effect", async () => {
    const env: NodeJS.ProcessEnv = {};
    const hold = latch();
    const remediator = recordingRemediator();
    const c = controller({ store: memoryStore(), remediate: remediator, env });
    // Flip the switch while planning: after the first guardrail check passed, before the side effect.
    remediator.plan = ((plan) => async (options) => {
      const made = await plan(options);
      await hold.promise;
      return made;
    })(remediator.plan.bind(remediator));
    await c.handle([alertSignal()]);
    await eventually(() => remediator.plans.length === 1);
    env.SELFHEAL_KILL_SWITCH = "1";
    hold.open();
    await c.settled();
    const [incident] = await c.store.listIncidents();
    expect(incident?.suppression?.reason).toBe("kill_switch");
    expect(remediator.sideEffects).toHaveLength(0);
  });

  it("dry run records the full plan and carries out nothing", async () => {
    const remediator = recordingRemediator();
    const c = controller({ store: memoryStore(), remediate: remediator, guardrails: { dryRun: true } });
    await c.handle([alertSignal()]);
    await c.settled();
    const [incident] = await c.store.listIncidents();
    expect(remediator.sideEffects).toHaveLength(0);
    expect(incident?.state).toBe("suppressed");
    expect(incident?.suppression?.reason).toBe("dry_run");
    expect(incident?.plan?.changes[0]?.description).toContain("rollback");
    const planned = await c.store.listEvents({ types: ["remediation.planned"] });
    expect(planned).toHaveLength(1);
    expect(planned[0]?.dryRun).toBe(true);
    expect(await c.store.listEvents({ types: ["remediation.started"] })).toHaveLength(0);
    const actions = await c.store.listActions({ since: "2000-01-01T00:00:00Z" });
    expect(actions.map((a) => a.outcome)).toEqual(["dry_run"]);
  });

  it("dry run sends the 'suppressed' notification (saying dry run) and runs no hook", async () => {
    const remediator = recordingRemediator();
    const notifier = recordingNotifier();
    const hookCalls: string[] = [];
    const c = controller({
      store: memoryStore(),
      remediate: remediator,
      guardrails: { dryRun: true },
      notify: [notifier],
      hooks: [
        {
          name: "silence",
          beforeRemediation: async () => {
            hookCalls.push("before");
            return { silence: "s-1" };
          },
          afterClose: async () => {
            hookCalls.push("after");
          },
        },
      ],
    });
    await c.handle([alertSignal()]);
    await c.settled();
    await c.close();
    expect(remediator.sideEffects).toHaveLength(0);
    expect(hookCalls).toEqual([]);
    expect(await c.store.listEvents({ types: ["hook.completed", "hook.failed"] })).toHaveLength(0);
    expect(notifier.sent.map((sent) => sent.kind)).toEqual(["suppressed"]);
    expect(notifier.sent[0]?.text).toMatch(
      /^rollback suppressed \(dry_run\): dry run: planned, not carried out/,
    );
  });

  it("refuses wildcard targets and replicas above the cap", async () => {
    const remediator = recordingRemediator();
    const c = controller({
      store: memoryStore(),
      remediate: remediator,
      policy: staticPolicy((input) =>
        input.service === "api"
          ? { action: "scale_up", reason: "cpu", params: { replicas: 50 } }
          : { action: "rollback", reason: "x", params: { service: "*" } },
      ),
      guardrails: { cooldown: 0, replicaCap: 10 },
    });
    await c.handle([alertSignal({ service: "api" }), alertSignal({ service: "checkout" })]);
    await c.settled();
    const reasons = (await c.store.listIncidents()).map((i) => [i.service, i.suppression?.reason]).sort();
    expect(reasons).toEqual([
      ["api", "replica_cap"],
      ["checkout", "invalid_target"],
    ]);
    expect(remediator.sideEffects).toHaveLength(0);
  });

  it("max_replicas is the lowest of the replica cap and what enrichers report", async () => {
    const seen: (number | undefined)[] = [];
    const c = controller({
      store: memoryStore(),
      remediate: recordingRemediator(),
      enrich: [
        // An HPA with maxReplicas 20 must not lift the configured cap of 10; one of 4 lowers it.
        {
          name: "hpa",
          enrich: async ({ incident }) => ({ max_replicas: incident.service === "api" ? 20 : 4 }),
        },
      ],
      policy: staticPolicy((input) => {
        seen.push(input.max_replicas);
        return { action: "none", reason: "look only", params: {} };
      }),
      guardrails: { cooldown: 0, replicaCap: 10 },
    });
    await c.handle([alertSignal({ service: "api" })]);
    await c.settled();
    await c.handle([alertSignal({ service: "checkout" })]);
    await c.settled();
    expect(seen).toEqual([10, 4]);
  });

  it("an escalation for an unknown value says why it is unknown, as the enricher explained it", async () => {
    const c = controller({
      store: memoryStore(),
      remediate: recordingRemediator(),
      enrich: [
        {
          name: "prometheus",
          enrich: async () => ({
            metrics: { error_rate: 0.3 },
            unknown: {
              restart_count:
                "its query was not run: it needs labels.namespace, which the alert does not have",
              cpu_usage: "its query returned no series",
            },
          }),
        },
      ],
      policy: builtinPolicy(),
    });
    await c.handle([alertSignal()]);
    await c.settled();
    const [incident] = await c.store.listIncidents();
    expect(incident?.state).toBe("escalated");
    // Only the cause of the value the reason names: cpu_usage is not why this escalated.
    expect(incident?.decision?.reason).toBe(
      "cannot decide on rollback: metrics unknown: restart_count (restart_count: its query was not run: it needs labels.namespace, which the alert does not have)",
    );
  });

  it("logs one info line per stage, each naming the incident, after it is recorded", async () => {
    const lines: { message: string; fields: Record<string, unknown> }[] = [];
    const record = (message: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ message, fields });
    const c = controller({
      store: memoryStore(),
      remediate: recordingRemediator(),
      verify: [scriptedVerifier(["passed"])],
      logger: { debug: () => undefined, info: record, warn: record, error: record },
    });
    await c.handle([alertSignal()]);
    await c.settled();
    const [incident] = await c.store.listIncidents();
    expect(incident?.state).toBe("resolved");
    const stages = lines.filter((line) => line.fields.stage !== undefined);
    expect(stages.map((line) => line.fields.stage)).toEqual([
      "decision",
      "plan",
      "act",
      "change",
      "verification",
    ]);
    for (const line of stages) {
      expect(line.fields.incidentId).toBe(incident?.id);
      expect(line.message).toContain(`incident ${incident?.id} `);
    }
  });

  it("a change freeze suppresses, with the window in the record", async () => {
    const c = controller({
      store: memoryStore(),
      remediate: recordingRemediator(),
      guardrails: {
        freezeWindows: [{ from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z", reason: "holiday" }],
      },
    });
    await c.handle([alertSignal()]);
    await c.settled();
    const [incident] = await c.store.listIncidents();
    expect(incident?.suppression?.reason).toBe("change_freeze");
    expect(incident?.suppression?.detail).toContain("holiday");
  });

  it("refuses guardrail settings it cannot read, naming where", () => {
    const bad: [GuardrailSettings, RegExp][] = [
      [
        { freezeWindows: [{ from: "tomorrow", to: "2100-01-01T00:00:00Z" }] },
        /freezeWindows\[0\]\.from: "tomorrow"/,
      ],
      [{ freezeWindows: [{ days: ["sat"], start: "25:00" }] }, /freezeWindows\[0\]\.start/],
      [{ rateLimit: { max: 2, window: "half an hour" } }, /guardrails\.rateLimit\.window/],
      [{ maxConcurrent: 0 }, /guardrails\.maxConcurrent/],
    ];
    for (const [guardrails, message] of bad) {
      expect(() =>
        createController({
          policy: staticPolicy(rollback),
          store: memoryStore(),
          logger: silentLogger,
          guardrails,
        }),
      ).toThrow(message);
    }
  });

  it("the global concurrency limit holds when many services fire at once", async () => {
    const hold = latch();
    const remediator = recordingRemediator({ beforeApply: () => hold.promise });
    const c = controller({
      store: memoryStore(),
      remediate: remediator,
      guardrails: { cooldown: 0, maxConcurrent: 2 },
    });
    await c.handle(["a", "b", "c", "d", "e"].map((service) => alertSignal({ service })));
    await eventually(async () => (await c.store.listIncidents({ open: true })).length === 2);
    hold.open();
    await c.settled();
    const incidents = await c.store.listIncidents();
    expect(incidents.filter((i) => i.state === "resolved")).toHaveLength(2);
    expect(incidents.filter((i) => i.suppression?.reason === "concurrency")).toHaveLength(3);
  });
});

describe("controller: restart and close", () => {
  it("close() during a decision records no decision; a new controller decides and acts", async () => {
    const dir = await scratchDir();
    const remediator = recordingRemediator();
    const a = controller({
      policy: {
        name: "hanging",
        decide: (_input, { signal }) => untilAborted(signal),
      },
      store: fileStore(dir),
      remediate: remediator,
    });
    await a.handle([alertSignal()]);
    await eventually(async () => (await a.store.listIncidents())[0]?.state === "deciding");
    await a.close();

    const b = controller({ store: fileStore(dir), remediate: remediator });
    expect((await b.store.listIncidents())[0]?.state).toBe("deciding");
    expect(await b.store.listEvents({ types: ["decision.made", "decision.failed"] })).toHaveLength(0);
    await b.start();
    await b.settled();
    expect((await b.store.listIncidents())[0]?.state).toBe("resolved");
    expect(remediator.sideEffects).toHaveLength(1);
  });

  it("close() checkpoints a verification under way; a new controller resumes it without repeating the action", async () => {
    const dir = await scratchDir();
    const remediator = recordingRemediator();
    const a = controller({
      store: fileStore(dir),
      remediate: remediator,
      verify: [
        {
          name: "never",
          verify: ({ signal }) => untilAborted(signal),
        },
      ],
    });
    await a.handle([alertSignal()]);
    await eventually(async () => (await a.store.listIncidents())[0]?.state === "verifying");
    await eventually(
      async () => (await a.store.listEvents({ types: ["verification.started"] })).length === 1,
    );
    await a.close();

    const b = controller({
      store: fileStore(dir),
      remediate: remediator,
      verify: [scriptedVerifier(["passed"])],
    });
    await b.start();
    await b.settled();
    const [incident] = await b.store.listIncidents();
    expect(incident?.state).toBe("resolved");
    expect(remediator.sideEffects).toHaveLength(1);
    expect(await b.store.listEvents({ types: ["controller.resumed"] })).toHaveLength(1);
  });
});
