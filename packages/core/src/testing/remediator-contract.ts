import { expect } from "vitest";
import { idempotencyKeyFor } from "../runtime/ids.js";
import type { Decision } from "../spec/decision.js";
import type { Incident } from "../spec/incident.js";
import { RemediationPlan, RemediationResult } from "../spec/remediation.js";
import type { Remediator } from "../spec/remediator.js";
import { type ContractCheck, callSignal, describeContract, rule } from "./contract-check.js";
import { makeIncident } from "./incident-fixtures.js";

/** What a remediator contract run needs: the remediator, a decision it supports, and a view of its side effects. */
export interface RemediatorHarness {
  readonly remediator: Remediator;
  readonly incident?: Incident;
  /** A decision with work to do (the plan must not be `noop`). */
  readonly decision: Decision;
  /** A fingerprint of everything the remediator could have written (a repo's refs, a list, calls to an API). */
  snapshot(): Promise<string>;
  cleanup?(): Promise<void>;
}

type Setup = () => Promise<RemediatorHarness>;

async function withHarness(setup: Setup, body: (harness: RemediatorHarness) => Promise<void>): Promise<void> {
  const harness = await setup();
  try {
    await body(harness);
  } finally {
    await harness.cleanup?.();
  }
}

async function planFor(harness: RemediatorHarness): Promise<{ incident: Incident; plan: RemediationPlan }> {
  const incident = harness.incident ?? makeIncident();
  const idempotencyKey = idempotencyKeyFor(incident.id, harness.decision.action);
  const answered = await harness.remediator.plan({
    incident,
    decision: harness.decision,
    idempotencyKey,
    signal: callSignal(),
  });
  const parsed = RemediationPlan.safeParse(answered);
  expect(parsed.error?.issues, rule("plan() answers a valid RemediationPlan")).toBeUndefined();
  const plan = parsed.data as RemediationPlan;
  expect(plan.idempotencyKey, rule("the plan copies the idempotency key plan() was called with")).toBe(
    idempotencyKey,
  );
  expect(plan.incidentId, rule("the plan names the incident it was called for")).toBe(incident.id);
  expect(plan.action, rule("the plan carries the decision's action")).toBe(harness.decision.action);
  if (plan.noop === true) {
    expect(plan.changes, rule("a plan that says noop (nothing to do) lists no changes")).toEqual([]);
  }
  return { incident, plan };
}

/**
 * The checks of the remediator contract, for running one by one (to see a broken remediator
 * fail); `testRemediatorContract` registers them all as tests.
 */
export const remediatorContract: readonly ContractCheck<Setup>[] = [
  {
    title: "supports the decision's action",
    run: (setup) =>
      withHarness(setup, async (harness) => {
        expect(
          harness.remediator.actions,
          rule("remediator.actions lists every action it carries out, the decision's among them"),
        ).toContain(harness.decision.action);
      }),
  },
  {
    title: "plans without writing anything, and the plan carries the idempotency key",
    run: (setup) =>
      withHarness(setup, async (harness) => {
        const before = await harness.snapshot();
        await planFor(harness);
        expect(await harness.snapshot(), rule("plan() writes nothing anywhere")).toBe(before);
      }),
  },
  {
    title: "applies once; a second apply with the same idempotency key reuses the earlier work",
    run: (setup) =>
      withHarness(setup, async (harness) => {
        const { incident, plan } = await planFor(harness);
        if (plan.noop === true) {
          throw new Error(
            "the remediator contract needs a decision with work to do: the plan said noop, so apply would never be called",
          );
        }
        const before = await harness.snapshot();
        const first = await applied(harness, incident, plan);
        expect(first.reused, rule("the first apply of a plan does the work: reused is false")).toBe(false);
        const afterFirst = await harness.snapshot();
        expect(afterFirst, rule("apply() carries out the plan (the snapshot changes)")).not.toBe(before);
        const second = await applied(harness, incident, plan);
        expect(
          second.reused,
          rule("a second apply with the same idempotency key must return reused: true"),
        ).toBe(true);
        expect(
          second.revision,
          rule("a second apply answers the revision of the first (the earlier work, found again)"),
        ).toBe(first.revision);
        expect(
          second.changeRequest?.url,
          rule("a second apply answers the change request of the first, not a new one"),
        ).toBe(first.changeRequest?.url);
        expect(
          await harness.snapshot(),
          rule("a second apply with the same idempotency key writes nothing more"),
        ).toBe(afterFirst);
      }),
  },
];

async function applied(
  harness: RemediatorHarness,
  incident: Incident,
  plan: RemediationPlan,
): Promise<RemediationResult> {
  const outcome = await harness.remediator.apply({ incident, plan, signal: callSignal() });
  const now = new Date().toISOString();
  const parsed = RemediationResult.safeParse({
    ...outcome,
    idempotencyKey: plan.idempotencyKey,
    startedAt: now,
    finishedAt: now,
  });
  expect(parsed.error?.issues, rule("apply() answers a valid RemediationOutcome")).toBeUndefined();
  return parsed.data as RemediationResult;
}

/**
 * Every remediator plans without writing, carries out a plan once, and, asked again with the
 * same idempotency key (a retry, a restart), finds its earlier work instead of repeating it and
 * says so with `reused: true`. A failure names the rule that was broken.
 */
export function testRemediatorContract(name: string, setup: Setup): void {
  describeContract(`Remediator contract: ${name}`, remediatorContract, setup);
}
