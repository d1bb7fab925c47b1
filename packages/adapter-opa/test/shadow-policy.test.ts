import { builtinPolicy, type DecisionInput, decideBuiltin, type Logger, type Policy } from "@selfheal/core";
import { makeDecisionInput } from "@selfheal/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { opaPolicy, type ShadowComparison, shadowPolicy } from "../src/index.js";
import { loadCorpusInputs } from "./corpus.js";
import { closedPort } from "./helpers.js";
import { loadOpaSpec, type OpaStandIn, startOpaStandIn } from "./opa-stand-in.js";

const input = makeDecisionInput();
const call = () => ({ signal: AbortSignal.timeout(10_000) });
const scaleUp = {
  action: "scale_up",
  params: { replicas: 4 },
  reason: "candidate says scale",
  escalate: false,
};

/** A policy that answers after `ms`, ignoring its signal (the worst a candidate can do). */
function slowPolicy(name: string, ms: number, answer: unknown = scaleUp): Policy {
  return {
    name,
    decide: () => new Promise((resolve) => setTimeout(() => resolve(answer as never), ms)),
  };
}

function recorder() {
  const comparisons: ShadowComparison[] = [];
  return {
    comparisons,
    onShadowDecision: (comparison: ShadowComparison) => void comparisons.push(comparison),
  };
}

const standIns: OpaStandIn[] = [];
afterEach(async () => {
  const open = standIns.splice(0);
  try {
    for (const standIn of open) standIn.verify();
  } finally {
    for (const standIn of open) await standIn.close();
  }
});

describe("shadowPolicy", () => {
  it("returns the active decision and records both", async () => {
    const { comparisons, onShadowDecision } = recorder();
    const active = builtinPolicy();
    const shadow = shadowPolicy({ active, candidate: slowPolicy("next", 5), onShadowDecision });
    expect(shadow.name).toBe("builtin");
    const decision = await shadow.decide(input, call());
    expect(decision).toEqual(decideBuiltin(input));
    await shadow.drain();
    expect(comparisons).toHaveLength(1);
    const [comparison] = comparisons;
    expect(comparison?.input).toBe(input);
    expect(comparison?.active).toMatchObject({ policy: "builtin", decision: decideBuiltin(input) });
    expect(comparison?.candidate).toMatchObject({ policy: "next", decision: scaleUp });
    expect(comparison?.candidate.failure).toBeUndefined();
    expect(comparison?.agree).toBe(false);
  });

  it("marks agreement on action, params and escalate, whatever the reasons say", async () => {
    const { comparisons, onShadowDecision } = recorder();
    const candidate = slowPolicy("same", 1, { ...decideBuiltin(input), reason: "said differently" });
    const shadow = shadowPolicy({ active: builtinPolicy(), candidate, onShadowDecision });
    await shadow.decide(input, call());
    await shadow.drain();
    expect(comparisons[0]?.agree).toBe(true);
  });

  it("a slow candidate neither delays nor changes the active answer, and is cut off at its bound", async () => {
    const { comparisons, onShadowDecision } = recorder();
    // The candidate answers only when the test lets it, ignoring its signal: the active answer
    // and the cut-off both come while it is still thinking, however slow the machine.
    let answerNow = () => {};
    const held: Policy = {
      name: "slow",
      decide: () =>
        new Promise((resolve) => {
          answerNow = () => resolve(scaleUp as never);
        }),
    };
    const shadow = shadowPolicy({
      active: builtinPolicy(),
      candidate: held,
      candidateTimeoutMs: 400,
      onShadowDecision,
    });
    const decision = await shadow.decide(input, call());
    expect(decision).toEqual(decideBuiltin(input));
    expect(comparisons).toHaveLength(0);
    await shadow.drain();
    answerNow();
    expect(comparisons).toHaveLength(1);
    expect(comparisons[0]?.candidate.failure).toContain("took longer than 400 ms");
    expect(comparisons[0]?.candidate.decision).toMatchObject({ action: "none", escalate: true });
  });

  it.each<[string, Policy, string]>([
    [
      "throws",
      {
        name: "broken",
        decide: () => {
          throw new Error("candidate exploded");
        },
      },
      "candidate exploded",
    ],
    ["answers something else", slowPolicy("odd", 1, { verdict: "allow" }), "not a decision"],
  ])("a candidate that %s does not change the active answer", async (_what, candidate, failure) => {
    const { comparisons, onShadowDecision } = recorder();
    const shadow = shadowPolicy({ active: builtinPolicy(), candidate, onShadowDecision });
    expect(await shadow.decide(input, call())).toEqual(decideBuiltin(input));
    await shadow.drain();
    expect(comparisons[0]?.candidate.failure).toContain(failure);
  });

  it("a failing onShadowDecision is logged, and the active answer stands", async () => {
    const warnings: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (message) => void warnings.push(message),
      error() {},
    };
    const shadow = shadowPolicy({
      active: builtinPolicy(),
      candidate: slowPolicy("next", 1),
      logger,
      onShadowDecision: () => {
        throw new Error("audit store down");
      },
    });
    expect(await shadow.decide(input, call())).toEqual(decideBuiltin(input));
    await shadow.drain();
    expect(warnings).toEqual(["shadow policy: onShadowDecision failed"]);
  });

  it("an active policy that throws still throws (the core fails closed), and both are recorded", async () => {
    const { comparisons, onShadowDecision } = recorder();
    const active: Policy = {
      name: "active",
      decide: () => Promise.reject(new Error("active down")),
    };
    const shadow = shadowPolicy({ active, candidate: builtinPolicy(), onShadowDecision });
    await expect(shadow.decide(input, call())).rejects.toThrow("active down");
    await shadow.drain();
    expect(comparisons[0]?.active.failure).toContain("active down");
    expect(comparisons[0]?.candidate.decision).toEqual(decideBuiltin(input));
  });

  it("is ready when the active policy is, whatever the candidate", async () => {
    const candidate: Policy = { ...builtinPolicy(), ready: async () => false };
    const active: Policy = { ...builtinPolicy(), ready: async () => true };
    expect(await shadowPolicy({ active, candidate }).ready?.(call())).toBe(true);
    expect(shadowPolicy({ active: builtinPolicy(), candidate }).ready).toBeUndefined();
  });

  // The stand-in answers with decideBuiltin: this checks the wire, not the Rego policy itself.
  it("with OPA as the candidate: each corpus input reaches OPA unchanged, decision_id kept", async () => {
    const opa = await startOpaStandIn(await loadOpaSpec(), { decisionLogging: true });
    standIns.push(opa);
    opa.expect({
      path: "selfheal/decision",
      times: "any",
      answer: (raw) => ({ status: 200, result: decideBuiltin(raw as DecisionInput) }),
    });
    // Generous bounds: this checks the wire, and a loaded machine must not turn it into timeouts.
    const candidate = opaPolicy({ url: opa.url, timeoutMs: 20_000 });
    const { comparisons, onShadowDecision } = recorder();
    const shadow = shadowPolicy({
      active: builtinPolicy(),
      candidate,
      candidateTimeoutMs: 20_000,
      onShadowDecision,
    });
    try {
      const inputs = await loadCorpusInputs();
      for (const corpusInput of inputs) await shadow.decide(corpusInput, call());
      await shadow.drain();
      expect(comparisons).toHaveLength(inputs.length);
      expect(comparisons.filter((comparison) => !comparison.agree)).toEqual([]);
      expect(comparisons.every((comparison) => comparison.candidate.decision.decision_id !== undefined)).toBe(
        true,
      );
    } finally {
      await candidate.close();
    }
  });

  it("with OPA as the candidate: an unreachable OPA is recorded, the active answer stands", async () => {
    const { comparisons, onShadowDecision } = recorder();
    const candidate = opaPolicy({
      url: `http://127.0.0.1:${await closedPort()}`,
      retries: 0,
      timeoutMs: 500,
    });
    const shadow = shadowPolicy({ active: builtinPolicy(), candidate, onShadowDecision });
    try {
      expect(await shadow.decide(input, call())).toEqual(decideBuiltin(input));
      await shadow.drain();
      expect(comparisons[0]?.candidate.decision).toMatchObject({ action: "none", escalate: true });
      expect(comparisons[0]?.candidate.decision.reason).toContain("OPA unreachable");
      expect(comparisons[0]?.candidate.failure).toContain("OPA unreachable");
      expect(comparisons[0]?.agree).toBe(false);
    } finally {
      await candidate.close();
    }
  });
});
