import { expect } from "vitest";
import type { Incident } from "../spec/incident.js";
import type { RemediationPlan, RemediationResult } from "../spec/remediation.js";
import { VerificationResult } from "../spec/verification.js";
import type { Verifier } from "../spec/verifier.js";
import { type ContractCheck, callSignal, describeContract, rule, settleWithin } from "./contract-check.js";

/** What a verifier contract run needs: the verifier and an incident with a plan and a result. */
export interface VerifierHarness {
  readonly verifier: Verifier;
  /** An incident that has a plan and a result (`makeVerifyingIncident()`). */
  readonly incident: Incident;
  cleanup?(): Promise<void>;
}

type Setup = () => Promise<VerifierHarness>;

/** How long a verifier may take to give up once its signal aborted: generous, for a loaded machine. */
const abortGraceMs = 20_000;

async function withHarness(
  setup: Setup,
  body: (harness: VerifierHarness & { plan: RemediationPlan; result: RemediationResult }) => Promise<void>,
): Promise<void> {
  const harness = await setup();
  try {
    const { plan, result } = harness.incident;
    if (plan === undefined || result === undefined) {
      throw new Error(
        "the verifier contract needs an incident with a plan and a result (use makeVerifyingIncident)",
      );
    }
    await body({ ...harness, plan, result });
  } finally {
    await harness.cleanup?.();
  }
}

/**
 * The checks of the verifier contract, for running one by one (to see a broken verifier
 * fail); `testVerifierContract` registers them all as tests.
 */
export const verifierContract: readonly ContractCheck<Setup>[] = [
  {
    title: "answers a valid verdict naming itself",
    run: (setup) =>
      withHarness(setup, async ({ verifier, incident, plan, result }) => {
        const answered = await verifier.verify({ incident, plan, result, signal: callSignal() });
        const parsed = VerificationResult.safeParse(answered);
        expect(parsed.error?.issues, rule("verify() answers a valid VerificationResult")).toBeUndefined();
        expect(
          parsed.data?.verifier,
          rule("the verdict names its verifier (verdict.verifier is verifier.name)"),
        ).toBe(verifier.name);
      }),
  },
  {
    title: "called with an aborted signal, rejects instead of answering a verdict",
    run: (setup) =>
      withHarness(setup, async ({ verifier, incident, plan, result }) => {
        const signal = AbortSignal.abort(new Error("contract: aborted before the call"));
        const settled = await settleWithin(verifier.verify({ incident, plan, result, signal }), abortGraceMs);
        expect(
          settled === "hung" ? "hung" : "error" in settled ? "rejected" : "answered a verdict",
          rule(
            "a verifier whose signal is aborted rejects (signal.throwIfAborted()) instead of answering a verdict",
          ),
        ).toBe("rejected");
      }),
  },
  {
    title: "aborted while it works, settles soon",
    run: (setup) =>
      withHarness(setup, async ({ verifier, incident, plan, result }) => {
        const controller = new AbortController();
        const running = verifier.verify({ incident, plan, result, signal: controller.signal });
        // Aborted as soon as the verifier has started: one that only looks at its signal
        // before it starts, or never, keeps waiting for its own deadline.
        controller.abort(new Error("contract: aborted while verifying"));
        const settled = await settleWithin(running, abortGraceMs);
        expect(
          settled === "hung" ? `still running ${abortGraceMs} ms after the abort` : "settled",
          rule(
            "a verifier stops waiting when its signal aborts (listen for the abort event, pass the signal on)",
          ),
        ).toBe("settled");
      }),
  },
];

/**
 * Every verifier answers a valid verdict naming itself, and honours its abort signal: it
 * rejects when called with an aborted one and gives up soon when it aborts mid-way. A failure
 * names the rule that was broken.
 */
export function testVerifierContract(name: string, setup: Setup): void {
  describeContract(`Verifier contract: ${name}`, verifierContract, setup);
}
