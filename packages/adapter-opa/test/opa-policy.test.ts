import { BadInputError } from "@selfheal/core";
import { makeDecisionInput } from "@selfheal/core/testing";
import { Agent } from "undici";
import { describe, expect, it } from "vitest";
import { type OpaPolicySettings, opaPolicy } from "../src/index.js";
import { call, closedPort, hold, path, useOpaStandIns } from "./helpers.js";

const input = makeDecisionInput();
const rollback = { action: "rollback", params: { image: "registry/checkout:v1.1.0" }, reason: "roll back" };
const { standIn, policy } = useOpaStandIns();

describe("opaPolicy decisions", () => {
  it("POSTs {input} to /v1/data/{path} and keeps OPA's decision_id", async () => {
    const opa = await standIn({ decisionLogging: true });
    opa.expect({ path, answer: () => ({ status: 200, result: rollback }) });
    const decision = await policy(opa.url).decide(input, call());
    expect(decision).toEqual({ ...rollback, escalate: false, decision_id: expect.any(String) });
    expect(decision.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(opa.requests).toEqual([{ path, body: { input }, authorization: undefined }]);
    expect(policy(opa.url).name).toBe("opa:selfheal/decision");
  });

  it("sends the bearer token", async () => {
    const opa = await standIn({ token: "s3cret-token-value" });
    opa.expect({ path, answer: () => ({ status: 200, result: rollback }) });
    const decision = await policy(opa.url, { token: "s3cret-token-value" }).decide(input, call());
    expect(decision.action).toBe("rollback");
    expect(opa.requests[0]?.authorization).toBe("Bearer s3cret-token-value");
  });

  it("undefined document → none + escalate, naming the path; decision_id kept", async () => {
    const opa = await standIn({ decisionLogging: true });
    opa.expect({ path, answer: () => ({ status: 200 }) });
    const decision = await policy(opa.url).decide(input, call());
    expect(decision).toMatchObject({ action: "none", escalate: true, decision_id: expect.any(String) });
    expect(decision.reason).toContain("undefined document at selfheal/decision (data.selfheal.decision)");
    expect(decision.reason).toContain(`POST ${opa.url}/v1/data/selfheal/decision`);
  });

  it("timeout → none + escalate within the time limit", async () => {
    const opa = await standIn();
    // OPA's answer is held until the policy gave up: the time limit fired, it did not get one.
    // 1 s, not less: the request must reach the stand-in (which checks it was called) first.
    const held = hold();
    opa.expect({
      path,
      answer: async () => {
        await held.promise;
        return { status: 200, result: rollback };
      },
    });
    const decision = await policy(opa.url, { timeoutMs: 1000 }).decide(input, call());
    held.release();
    expect(decision).toMatchObject({ action: "none", params: {}, escalate: true });
    expect(decision.reason).toContain("timeout after 1000 ms");
  });

  it("unreachable (closed port) → none + escalate after the retries", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const decision = await policy(url, { retries: 2 }).decide(input, call());
    expect(decision).toMatchObject({ action: "none", escalate: true });
    expect(decision.reason).toMatch(/OPA unreachable: .*ECONNREFUSED.*\(POST .*, 3 attempts\)/);
  });

  it("retries a 5xx, then takes the answer", async () => {
    const opa = await standIn();
    const error = { code: "internal_error", message: "error(s) occurred while evaluating query" };
    opa.expect({ path, answer: () => ({ status: 500, error }) });
    opa.expect({ path, answer: () => ({ status: 200, result: rollback }) });
    const decision = await policy(opa.url).decide(input, call());
    expect(decision.action).toBe("rollback");
    expect(opa.requests).toHaveLength(2);
  });

  it("retries a dropped connection, then takes the answer", async () => {
    const opa = await standIn();
    opa.expect({ path, answer: () => ({ reset: true }) });
    opa.expect({ path, answer: () => ({ status: 200, result: rollback }) });
    expect((await policy(opa.url).decide(input, call())).action).toBe("rollback");
    expect(opa.requests).toHaveLength(2);
  });

  it("gives up after the retries on repeated 5xx, with OPA's error in the reason", async () => {
    const opa = await standIn();
    const error = {
      code: "internal_error",
      message: "error(s) occurred while evaluating query",
      errors: [{ code: "eval_conflict_error", message: "complete rules must not produce multiple outputs" }],
    };
    opa.expect({ path, times: 3, answer: () => ({ status: 500, error }) });
    const decision = await policy(opa.url, { retries: 2 }).decide(input, call());
    expect(decision).toMatchObject({ action: "none", escalate: true });
    expect(decision.reason).toContain("HTTP 500 internal_error: error(s) occurred while evaluating query");
    expect(decision.reason).toContain("eval_conflict_error");
    expect(decision.reason).toContain("3 attempts");
  });

  it("does not retry a 4xx", async () => {
    const opa = await standIn();
    const error = { code: "invalid_parameter", message: "error(s) occurred while parsing input" };
    opa.expect({ path, answer: () => ({ status: 400, error }) });
    const decision = await policy(opa.url, { retries: 2 }).decide(input, call());
    expect(decision).toMatchObject({ action: "none", escalate: true });
    expect(decision.reason).toContain("HTTP 400 invalid_parameter");
    expect(decision.reason).toContain("1 attempt)");
    expect(opa.requests).toHaveLength(1);
  });

  it("a wrong token (401) fails closed, not retried, and the token never shows", async () => {
    const opa = await standIn({ token: "right-token-value" });
    const decision = await policy(opa.url, { token: "wrong-token-value" }).decide(input, call());
    expect(decision).toMatchObject({ action: "none", escalate: true });
    expect(decision.reason).toContain("HTTP 401 unauthorized");
    expect(decision.reason).not.toContain("token-value");
    expect(opa.requests).toHaveLength(1);
  });

  it.each<[string, unknown, string]>([
    ["an unknown action", { action: "Roll Back!", reason: "x" }, "action"],
    ["no reason", { action: "rollback" }, "reason"],
    ["a boolean (an allow rule)", true, "(root)"],
    ["null", null, "(root)"],
    ["escalate as a string", { action: "none", reason: "x", escalate: "yes" }, "escalate"],
  ])("a result that is not a Decision (%s) → none + escalate", async (_name, result, where) => {
    const opa = await standIn();
    opa.expect({ path, answer: () => ({ status: 200, result }) });
    const decision = await policy(opa.url).decide(input, call());
    expect(decision).toMatchObject({ action: "none", escalate: true });
    expect(decision.reason).toContain(`the result at selfheal/decision is not a decision: ${where}`);
  });

  it("keeps one keep-alive connection for many decisions", async () => {
    const opa = await standIn();
    opa.expect({ path, times: 20, answer: () => ({ status: 200, result: rollback }) });
    const opaClient = policy(opa.url);
    for (let index = 0; index < 20; index++) {
      expect((await opaClient.decide(input, call())).action).toBe("rollback");
      // As in the controller, where store writes separate decisions. Back to back in one
      // microtask chain, undici's Pool may open a second connection before it marks the first free.
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(opa.connections()).toBe(1);
  });

  it("goes through an injected dispatcher, and leaves it open on close()", async () => {
    const opa = await standIn();
    opa.expect({ path, times: 2, answer: () => ({ status: 200, result: rollback }) });
    const dispatcher = new Agent();
    try {
      const first = opaPolicy({ url: opa.url, dispatcher });
      expect((await first.decide(input, call())).action).toBe("rollback");
      await first.close();
      const second = opaPolicy({ url: opa.url, dispatcher });
      expect((await second.decide(input, call())).action).toBe("rollback");
    } finally {
      await dispatcher.close();
    }
  });

  it("after close(), fails closed instead of throwing", async () => {
    const opa = await standIn();
    const closed = opaPolicy({ url: opa.url });
    await closed.close();
    const decision = await closed.decide(input, call());
    expect(decision).toMatchObject({ action: "none", escalate: true });
    expect(decision.reason).toContain("OPA unreachable");
    expect(decision.reason).toContain("1 attempt)");
  });

  it("a caller that gives up gets none + escalate, not an exception", async () => {
    const opa = await standIn();
    const held = hold();
    opa.expect({
      path,
      answer: async () => {
        await held.promise;
        return { status: 200, result: rollback };
      },
    });
    // The caller gives up after 1 s: time enough for the request to reach the stand-in first.
    const decision = await policy(opa.url).decide(input, { signal: AbortSignal.timeout(1000) });
    held.release();
    expect(decision).toMatchObject({ action: "none", escalate: true });
    expect(decision.reason).toContain("cancelled by the caller");
  });

  it.each<[Partial<OpaPolicySettings>, string]>([
    [{ url: "ftp://opa:21" }, "url"],
    [{ url: "not a url" }, "url"],
    [{ url: "http://user:pass@opa:8181" }, "url"],
    [{ path: "selfheal.decision" }, "path"],
    [{ path: "selfheal/../x" }, "path"],
    [{ timeoutMs: 0 }, "timeoutMs"],
    [{ retries: -1 }, "retries"],
    [{ retryDelayMs: Number.NaN }, "retryDelayMs"],
  ])("rejects unusable settings %o at creation", (settings, key) => {
    try {
      opaPolicy({ url: "http://opa:8181", ...settings });
      expect.unreachable("opaPolicy accepted unusable settings");
    } catch (error) {
      expect(BadInputError.isInstance(error)).toBe(true);
      expect((error as BadInputError).path).toBe(key);
      expect((error as Error).message).not.toContain("pass@");
    }
  });
});
