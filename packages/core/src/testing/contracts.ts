import { describe, expect, it } from "vitest";
import { idempotencyKeyFor } from "../runtime/ids.js";
import type { DecisionInput } from "../spec/decision.js";
import { Decision, DecisionInput as DecisionInputSchema } from "../spec/decision.js";
import type { Enricher } from "../spec/enricher.js";
import type { Incident } from "../spec/incident.js";
import type { Notification, Notifier } from "../spec/notifier.js";
import type { Policy } from "../spec/policy.js";
import { RemediationPlan, RemediationResult } from "../spec/remediation.js";
import type { Remediator } from "../spec/remediator.js";
import { VerificationResult } from "../spec/verification.js";
import type { Verifier } from "../spec/verifier.js";
import { makeDecisionInput, makeIncident } from "./incident-fixtures.js";

const signal = () => AbortSignal.timeout(30_000);

/**
 * Every policy answers each input with something that parses as a `Decision`, and answers the
 * same input the same way (policies are pure).
 */
export function testPolicyContract(
  name: string,
  setup: () => Promise<Policy> | Policy,
  inputs: readonly DecisionInput[] = [makeDecisionInput()],
): void {
  describe(`Policy contract: ${name}`, () => {
    it("has a name", async () => {
      expect((await setup()).name).toMatch(/\S/);
    });
    it("answers every input with a valid Decision", async () => {
      const policy = await setup();
      for (const input of inputs) {
        const parsed = Decision.safeParse(
          await policy.decide(DecisionInputSchema.parse(input), { signal: signal() }),
        );
        expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      }
    });
    it("is pure: the same input gets the same decision", async () => {
      const policy = await setup();
      for (const input of inputs) {
        const first = Decision.parse(await policy.decide(input, { signal: signal() }));
        const second = Decision.parse(await policy.decide(input, { signal: signal() }));
        expect({ ...second, decision_id: undefined }).toEqual({ ...first, decision_id: undefined });
      }
    });
  });
}

/** What a remediator contract run needs: the remediator, a decision it supports, and a view of its side effects. */
export interface RemediatorHarness {
  readonly remediator: Remediator;
  readonly incident?: Incident;
  readonly decision: Decision;
  /** A fingerprint of everything the remediator could have written (a repo's refs, a list). */
  snapshot(): Promise<string>;
  cleanup?(): Promise<void>;
}

/**
 * Every remediator plans without writing, carries out a plan once, and, asked again with the
 * same idempotency key (a retry, a restart), finds its earlier work instead of repeating it.
 */
export function testRemediatorContract(name: string, setup: () => Promise<RemediatorHarness>): void {
  describe(`Remediator contract: ${name}`, () => {
    it("supports the decision's action", async () => {
      const harness = await setup();
      try {
        expect(harness.remediator.actions).toContain(harness.decision.action);
      } finally {
        await harness.cleanup?.();
      }
    });
    it("plans without writing anything, and the plan carries the idempotency key", async () => {
      const harness = await setup();
      try {
        const incident = harness.incident ?? makeIncident();
        const before = await harness.snapshot();
        const idempotencyKey = idempotencyKeyFor(incident.id, harness.decision.action);
        const plan = RemediationPlan.parse(
          await harness.remediator.plan({
            incident,
            decision: harness.decision,
            idempotencyKey,
            signal: signal(),
          }),
        );
        expect(plan.idempotencyKey).toBe(idempotencyKey);
        expect(plan.incidentId).toBe(incident.id);
        expect(plan.action).toBe(harness.decision.action);
        expect(await harness.snapshot()).toBe(before);
      } finally {
        await harness.cleanup?.();
      }
    });
    it("applies once; a second apply of the same plan reuses the earlier work", async () => {
      const harness = await setup();
      try {
        const incident = harness.incident ?? makeIncident();
        const idempotencyKey = idempotencyKeyFor(incident.id, harness.decision.action);
        const plan = await harness.remediator.plan({
          incident,
          decision: harness.decision,
          idempotencyKey,
          signal: signal(),
        });
        const stamp = {
          idempotencyKey,
          startedAt: new Date().toISOString(),
          finishedAt: new Date().toISOString(),
        };
        const first = RemediationResult.parse({
          ...(await harness.remediator.apply({ incident, plan, signal: signal() })),
          ...stamp,
        });
        const afterFirst = await harness.snapshot();
        const second = RemediationResult.parse({
          ...(await harness.remediator.apply({ incident, plan, signal: signal() })),
          ...stamp,
        });
        expect(second.reused).toBe(true);
        expect(second.revision).toBe(first.revision);
        expect(await harness.snapshot()).toBe(afterFirst);
      } finally {
        await harness.cleanup?.();
      }
    });
  });
}

/** Every verifier answers a valid verdict and gives up when its signal aborts. */
export function testVerifierContract(
  name: string,
  setup: () => Promise<{ verifier: Verifier; incident: Incident; cleanup?(): Promise<void> }>,
): void {
  describe(`Verifier contract: ${name}`, () => {
    it("answers a valid verdict naming itself", async () => {
      const { verifier, incident, cleanup } = await setup();
      try {
        const { plan, result } = requireResult(incident);
        const verdict = VerificationResult.parse(
          await verifier.verify({ incident, plan, result, signal: signal() }),
        );
        expect(verdict.verifier).toBe(verifier.name);
      } finally {
        await cleanup?.();
      }
    });
    it("settles soon after its signal aborts", async () => {
      const { verifier, incident, cleanup } = await setup();
      try {
        const { plan, result } = requireResult(incident);
        const controller = new AbortController();
        const running = verifier.verify({ incident, plan, result, signal: controller.signal }).then(
          () => "settled",
          () => "settled",
        );
        setTimeout(() => controller.abort(new Error("test abort")), 50);
        const outcome = await Promise.race([
          running,
          // Generous, for a loaded machine; still well inside the test's own timeout.
          new Promise((resolve) => setTimeout(() => resolve("hung"), 20_000)),
        ]);
        expect(outcome).toBe("settled");
      } finally {
        await cleanup?.();
      }
    });
  });
}

/** Every enricher answers facts that fit the decision input, or throws; it never corrupts the input. */
export function testEnricherContract(
  name: string,
  setup: () => Promise<{ enricher: Enricher; incident?: Incident; cleanup?(): Promise<void> }>,
): void {
  describe(`Enricher contract: ${name}`, () => {
    it("answers facts that fit the DecisionInput schema", async () => {
      const { enricher, incident = makeIncident(), cleanup } = await setup();
      try {
        const input = makeDecisionInput();
        const found = await enricher.enrich({ incident, input, signal: signal() });
        const merged = {
          ...input,
          metrics: { ...input.metrics, ...found.metrics },
          ...(found.deployment === undefined ? {} : { deployment: found.deployment }),
          ...(found.current_replicas === undefined ? {} : { current_replicas: found.current_replicas }),
          ...(found.max_replicas === undefined ? {} : { max_replicas: found.max_replicas }),
        };
        expect(DecisionInputSchema.safeParse(merged).success).toBe(true);
        for (const value of Object.values(found.metrics ?? {})) expect(Number.isFinite(value)).toBe(true);
      } finally {
        await cleanup?.();
      }
    });
  });
}

/** Every notifier sends a notification, and rejects (never hangs) when its signal aborts. */
export function testNotifierContract(
  name: string,
  setup: () => Promise<{ notifier: Notifier; received(): Promise<number>; cleanup?(): Promise<void> }>,
): void {
  describe(`Notifier contract: ${name}`, () => {
    it("delivers a notification", async () => {
      const { notifier, received, cleanup } = await setup();
      try {
        const notification: Notification = {
          kind: "escalated",
          incident: makeIncident(),
          title: "HighErrorRate on checkout: escalated",
          text: "a human must look",
        };
        await notifier.notify(notification, { signal: signal() });
        expect(await received()).toBe(1);
      } finally {
        await cleanup?.();
      }
    });
  });
}

function requireResult(incident: Incident): { plan: RemediationPlan; result: RemediationResult } {
  if (incident.plan === undefined || incident.result === undefined) {
    throw new Error(
      "the verifier contract needs an incident with a plan and a result (use makeIncident with both)",
    );
  }
  return { plan: incident.plan, result: incident.result };
}
