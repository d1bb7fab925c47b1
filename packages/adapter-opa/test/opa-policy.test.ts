import { BadInputError } from "@selfheal/core";
import { makeDecisionInput } from "@selfheal/core/testing";
import { Agent } from "undici";
import { describe, expect, it } from "vitest";
import { type OpaPolicySettings, opaPolicy } from "../src/index.js";
import { call, closedPort, path, unavailable, useOpaStandIns } from "./helpers.js";

const input = makeDecisionInput();
const rollback = { action: "rollback", params: { image: "registry/checkout:v1.1.0" }, reason: "roll back" };
const { standIn, policy } = useOpaStandIns();

// What a real OPA cannot be made to do on cue: a 5xx then a 200, a dropped connection, a 400 (our
// client never sends a body OPA rejects), counting connections. Everything else runs against the
// real server in opa-server.test.ts.
describe("opaPolicy against a stand-in OPA", () => {
  it("unreachable (closed port) → rejects as unavailable (retryable) after the retries", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const error = await unavailable(policy(url, { retries: 2 }).decide(input, call()));
    expect(error.message).toMatch(/OPA unreachable: .*ECONNREFUSED.*\(POST .*, 3 attempts\)/);
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

  it("after close(), rejects as unavailable", async () => {
    const opa = await standIn();
    const closed = opaPolicy({ url: opa.url });
    await closed.close();
    const error = await unavailable(closed.decide(input, call()));
    expect(error.message).toContain("OPA unreachable");
    expect(error.message).toContain("1 attempt)");
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
    [{ ca: "-----BEGIN CERTIFICATE-----", dispatcher: new Agent() }, "ca"],
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
