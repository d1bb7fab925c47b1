import { type DecisionInput, SelfHealError } from "@selfheal/core";
import { makeDecisionInput } from "@selfheal/core/testing";
import { Agent } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { type OpaPolicy, type OpaPolicySettings, type OpaTiming, opaPolicy } from "../src/index.js";
import {
  opaGate,
  type RunningOpa,
  type StartOpaOptions,
  shippedPolicyFile,
  startOpa,
} from "../src/testing/index.js";
import { makeTestCertificates } from "./certificates.js";
import { unavailable } from "./helpers.js";

// opaPolicy against a real `opa run --server`: every failure OPA can really produce fails closed
// (none, escalate) with its reason recorded. What a real OPA cannot be made to do on cue (a 5xx
// followed by a 200, a connection dropped mid-request) stays in opa-policy.test.ts's stand-in.
const gate = await opaGate();
const input = makeDecisionInput({
  metrics: { error_rate: 0.3, restart_count: 5 },
  deployment: { image: "registry/checkout:v1.2.0", previous_image: "registry/checkout:v1.1.0" },
});
const call = () => ({ signal: AbortSignal.timeout(20_000) });
const server0 = "http://127.0.0.1:1";
/** A policy with `decision` only: every answer says "single". */
const singleOnly =
  'package selfheal\n\ndecision := {"action": "none", "params": {}, "reason": "single", "escalate": false}\n';
/** A batch rule that answers one decision whatever the batch holds. */
const shortBatch = `${singleOnly}\ndecisions := [decision]\n`;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const servers: RunningOpa[] = [];
const policies: OpaPolicy[] = [];
afterEach(async () => {
  for (const policy of policies.splice(0)) await policy.close();
  for (const server of servers.splice(0)) await server.stop();
});

async function opa(options: StartOpaOptions = {}): Promise<RunningOpa> {
  const server = await startOpa({ files: [shippedPolicyFile], ...options });
  servers.push(server);
  return server;
}

function client(url: string, settings: Partial<OpaPolicySettings> = {}): OpaPolicy {
  const policy = opaPolicy({ url, retryDelayMs: 10, ...settings });
  policies.push(policy);
  return policy;
}

/** Wait (polling, generous deadline) until OPA's log holds `text`: its logger writes asynchronously. */
async function untilLogged(server: RunningOpa, text: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (!server.log().includes(text)) {
    if (Date.now() > deadline)
      throw new Error(`OPA never logged ${text}; its log ends:\n${server.log().slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return server.log();
}

describe.skipIf(gate.skip)(`opaPolicy against a real OPA${gate.skip ? ` (${gate.why})` : ""}`, () => {
  it("decides with the shipped policy and keeps the decision_id OPA logged", async () => {
    const server = await opa({ args: ["--set=decision_logs.console=true"] });
    const decision = await client(server.url).decide(input, call());
    expect(decision).toMatchObject({
      action: "rollback",
      params: { image: "registry/checkout:v1.1.0" },
      escalate: false,
    });
    expect(decision.decision_id).toMatch(uuid);
    const log = await untilLogged(server, decision.decision_id as string);
    const entry = log
      .split("\n")
      .map((line) => (line.startsWith("{") ? (JSON.parse(line) as Record<string, unknown>) : {}))
      .find((line) => line.decision_id === decision.decision_id);
    expect(entry).toMatchObject({ path: "selfheal/decision", result: { action: "rollback" } });
  });

  it("an undefined document (wrong path) fails closed, naming the path; the decision_id is kept", async () => {
    const server = await opa({ args: ["--set=decision_logs.console=true"] });
    const decision = await client(server.url, { path: "selfheal/decison" }).decide(input, call());
    expect(decision).toMatchObject({ action: "none", params: {}, escalate: true });
    expect(decision.reason).toContain("undefined document at selfheal/decison (data.selfheal.decison)");
    expect(decision.reason).toContain(`POST ${server.url}/v1/data/selfheal/decison, 1 attempt`);
    expect(decision.decision_id).toMatch(uuid);
  });

  it("a policy that fails while evaluating (conflicting values) rejects as unavailable with OPA's error, after the retries", async () => {
    const conflict = [
      "package selfheal",
      "",
      'decision := {"action": "none", "params": {}, "reason": "a", "escalate": false} if input.service',
      "",
      'decision := {"action": "rollback", "params": {}, "reason": "b", "escalate": false} if input.service',
      "",
    ].join("\n");
    const server = await opa({ files: [], policies: { "conflict.rego": conflict } });
    const error = await unavailable(client(server.url, { retries: 2 }).decide(input, call()));
    expect(error.status).toBe(500);
    expect(error.message).toContain(
      "OPA answered HTTP 500 internal_error: error(s) occurred while evaluating query",
    );
    expect(error.message).toContain(
      "eval_conflict_error: rule data.selfheal.decision produced conflicting values",
    );
    expect(error.message).toContain("3 attempts");
  });

  it("a result that is not a Decision fails closed, saying where it is wrong", async () => {
    // The policy answers data.answers[<service>]: one OPA serves every wrong shape.
    const answers: Record<string, unknown> = {
      "unknown-action": { action: "Roll Back!", reason: "x" },
      "no-reason": { action: "rollback" },
      boolean: true,
      null: null,
      "escalate-string": { action: "none", reason: "x", escalate: "yes" },
    };
    const where: Record<string, string> = {
      "unknown-action": "action",
      "no-reason": "reason",
      boolean: "(root)",
      null: "(root)",
      "escalate-string": "escalate",
    };
    const echo = "package selfheal\n\ndecision := data.answers[input.service]\n";
    const server = await opa({ files: [], policies: { "echo.rego": echo }, data: { answers } });
    const policy = client(server.url);
    for (const service of Object.keys(answers)) {
      const decision = await policy.decide({ ...input, service }, call());
      expect(decision, service).toMatchObject({ action: "none", escalate: true });
      expect(decision.reason, service).toContain(
        `the result at selfheal/decision is not a decision: ${where[service]}`,
      );
    }
  });

  it("OPA stopped mid-run: decisions reject as unavailable (retryable), ready() turns false", async () => {
    const server = await opa();
    const policy = client(server.url, { retries: 1 });
    expect((await policy.decide(input, call())).action).toBe("rollback");
    expect(await policy.ready(call())).toBe(true);
    await server.stop();
    const error = await unavailable(policy.decide(input, call()));
    expect(error.message).toMatch(/OPA unreachable: .*(ECONNREFUSED|ECONNRESET|socket)/);
    expect(error.message).toContain("2 attempts");
    expect(await policy.ready(call())).toBe(false);
  });

  describe("with --authentication=token --authorization=basic", () => {
    const token = "opa-test-token-5f1e9c";
    const authz = [
      "package system.authz",
      "",
      "default allow := false",
      "",
      `allow if input.identity == "${token}"`,
      "",
    ].join("\n");
    const secured = () =>
      opa({ policies: { "authz.rego": authz }, args: ["--authentication=token", "--authorization=basic"] });

    it("decides with the right bearer token", async () => {
      const server = await secured();
      const policy = client(server.url, { token });
      expect((await policy.decide(input, call())).action).toBe("rollback");
      expect(await policy.ready(call())).toBe(true);
    });

    it("a wrong or missing token fails closed with 401, once, and the token never shows", async () => {
      const server = await secured();
      for (const settings of [{ token: "opa-wrong-token-value" }, {}]) {
        const decision = await client(server.url, settings).decide(input, call());
        expect(decision).toMatchObject({ action: "none", escalate: true });
        expect(decision.reason).toContain(
          "OPA answered HTTP 401 unauthorized: request rejected by administrative policy",
        );
        expect(decision.reason).toContain("1 attempt)");
        expect(decision.reason).not.toContain("token-value");
      }
    });
  });

  describe("over TLS with a private CA", () => {
    it("decides when given the CA; fails closed naming the certificate problem without it", async () => {
      const certificates = await makeTestCertificates();
      const server = await opa({ tls: certificates });
      expect(server.url).toMatch(/^https:/);
      const trusted = client(server.url, { ca: certificates.ca });
      expect((await trusted.decide(input, call())).action).toBe("rollback");
      const decision = await client(server.url).decide(input, call());
      expect(decision).toMatchObject({ action: "none", escalate: true });
      expect(decision.reason).toMatch(/OPA unreachable: .*(certificate|SELF_SIGNED|UNABLE_TO_VERIFY)/i);
      expect(decision.reason).toContain("1 attempt)");
    });
  });

  describe("a slow evaluation", () => {
    // About 2 million steps without allocating: seconds of work, which OPA cancels when the client
    // hangs up (checked by hand: its CPU time stays at 0 after the abort).
    const slow = [
      "package selfheal",
      "",
      "decision := d if {",
      "\tevery i in numbers.range(1, 1500) {",
      "\t\tevery j in numbers.range(1, 1500) {",
      "\t\t\ti + j > 0 - count(input.service)",
      "\t\t}",
      "\t}",
      '\td := {"action": "none", "params": {}, "reason": "done", "escalate": false}',
      "}",
      "",
    ].join("\n");

    it("hits the time limit and rejects as unavailable with a timeout", async () => {
      const server = await opa({ files: [], policies: { "slow.rego": slow } });
      const error = await unavailable(client(server.url, { timeoutMs: 200 }).decide(input, call()));
      expect(error.message).toContain("timeout after 200 ms");
    });

    it("a caller that gives up first gets a cancellation (not retryable), not a decision", async () => {
      const server = await opa({ files: [], policies: { "slow.rego": slow } });
      const error = await client(server.url, { timeoutMs: 60_000 })
        .decide(input, { signal: AbortSignal.timeout(200) })
        .then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
      expect(SelfHealError.isInstance(error) && !error.retryable).toBe(true);
      expect((error as Error).message).toContain("cancelled by the caller before OPA answered");
    });
  });

  describe("batch: decisions that wait go together to selfheal/decisions", () => {
    const inputs = [0.3, 0.02, 0.4, 0.5, 0.06, 0.01].map((error_rate, index) =>
      makeDecisionInput({
        service: `service-${index}`,
        metrics: { error_rate, restart_count: 5 },
        deployment: { image: "registry/x:v2", previous_image: `registry/x:v${index}` },
      }),
    );
    const batch = { path: "selfheal/decisions", maxRequests: 1 } as const;

    /** The JSON lines OPA logged that are decision-log entries. */
    function decisionLog(server: RunningOpa): Record<string, unknown>[] {
      return server
        .log()
        .split("\n")
        .filter((line) => line.startsWith("{") && line.includes('"decision_id"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    }

    it("the first decision goes alone, the ones that waited go in one request; each equals its single answer", async () => {
      const server = await opa({ args: ["--set=decision_logs.console=true"] });
      const single = client(server.url);
      const expected = [];
      for (const each of inputs) expected.push(await single.decide(each, call()));
      const batched = client(server.url, { batch });
      const answers = await Promise.all(inputs.map((each) => batched.decide(each, call())));
      const strip = ({ decision_id: _id, ...rest }: { decision_id?: string | undefined }) => rest;
      expect(answers.map(strip)).toEqual(expected.map(strip));
      // One request free: the first went at once to selfheal/decision; the other five waited for it.
      expect(answers[0]?.decision_id).toMatch(uuid);
      const [batchId] = (answers[1]?.decision_id ?? "").split("#");
      expect(batchId).toMatch(uuid);
      expect(answers.slice(1).map((answer) => answer.decision_id)).toEqual(
        [0, 1, 2, 3, 4].map((index) => `${batchId}#${index}`),
      );
      await untilLogged(server, batchId as string);
      const entry = decisionLog(server).find((line) => line.decision_id === batchId);
      expect(entry).toMatchObject({ path: "selfheal/decisions" });
      expect((entry?.input as { batch?: unknown[] } | undefined)?.batch).toHaveLength(5);
    });

    it("a policy without the batch rule: the batched decisions fail closed naming the rule, the lone one decides", async () => {
      const server = await opa({ files: [], policies: { "single.rego": singleOnly } });
      const policy = client(server.url, { batch });
      const together = await Promise.all(inputs.slice(0, 3).map((each) => policy.decide(each, call())));
      expect(together[0]).toMatchObject({ action: "none", escalate: false, reason: "single" });
      for (const answer of together.slice(1)) {
        expect(answer).toMatchObject({ action: "none", escalate: true });
        expect(answer.reason).toContain("undefined document at selfheal/decisions (data.selfheal.decisions)");
      }
    });

    it("a batch answer of the wrong length fails closed for every decision in it", async () => {
      const server = await opa({ files: [], policies: { "short.rego": shortBatch } });
      const policy = client(server.url, { batch });
      const answers = await Promise.all(inputs.slice(0, 4).map((each) => policy.decide(each, call())));
      expect(answers[0]).toMatchObject({ reason: "single" });
      for (const answer of answers.slice(1)) {
        expect(answer).toMatchObject({ action: "none", escalate: true });
        expect(answer.reason).toContain(
          "the result at selfheal/decisions is not a list of 3 decisions, one per input of the batch: found a list of 1",
        );
      }
    });

    it("a caller that gives up while waiting is cancelled at once; the rest are answered", async () => {
      const server = await opa();
      const policy = client(server.url, { batch });
      const giveUp = new AbortController();
      const first = policy.decide(inputs[0] as DecisionInput, call());
      const waiting = policy.decide(inputs[2] as DecisionInput, { signal: giveUp.signal });
      const third = policy.decide(inputs[1] as DecisionInput, call());
      giveUp.abort();
      const error = await waiting.then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect((error as Error).message).toContain("cancelled by the caller before OPA answered");
      expect((await first).action).toBe("rollback");
      expect((await third).action).toBe("none");
    });

    it("rejects unusable settings at creation", () => {
      expect(() => opaPolicy({ url: server0, batch: { path: "a b" } })).toThrow("batch.path");
      expect(() => opaPolicy({ url: server0, batch: { path: "x", maxRequests: 0 } })).toThrow(
        "batch.maxRequests",
      );
      expect(() => opaPolicy({ url: server0, batch: { path: "x", maxSize: 1 } })).toThrow("batch.maxSize");
    });
  });

  it("onTiming reports OPA's own handler time beside the client's", async () => {
    const server = await opa();
    const timings: OpaTiming[] = [];
    const policy = client(server.url, { onTiming: (timing) => void timings.push(timing) });
    expect((await policy.decide(input, call())).action).toBe("rollback");
    expect(timings).toHaveLength(1);
    const [timing] = timings;
    expect(timing?.attempts).toBe(1);
    expect(timing?.serverMs).toBeGreaterThan(0);
    expect(timing?.totalMs).toBeGreaterThan(timing?.serverMs ?? Number.POSITIVE_INFINITY);
  });

  it("goes through an injected dispatcher and leaves it open on close()", async () => {
    const server = await opa();
    const dispatcher = new Agent();
    try {
      const first = opaPolicy({ url: server.url, dispatcher });
      expect((await first.decide(input, call())).action).toBe("rollback");
      await first.close();
      const second = opaPolicy({ url: server.url, dispatcher });
      expect((await second.decide(input, call())).action).toBe("rollback");
      await second.close();
    } finally {
      await dispatcher.close();
    }
  });
});
