import { describe, expect, it } from "vitest";
import type { DecisionInput } from "../spec/decision.js";
import { Decision, DecisionInput as DecisionInputSchema } from "../spec/decision.js";
import type { Enricher } from "../spec/enricher.js";
import type { Incident } from "../spec/incident.js";
import type { Notification, Notifier } from "../spec/notifier.js";
import type { Policy } from "../spec/policy.js";
import { callSignal, rule } from "./contract-check.js";
import { makeDecisionInput, makeIncident } from "./incident-fixtures.js";

const signal = callSignal;

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
      expect((await setup()).name, rule("a policy has a non-empty name")).toMatch(/\S/);
    });
    it("answers every input with a valid Decision", async () => {
      const policy = await setup();
      for (const input of inputs) {
        const parsed = Decision.safeParse(
          await policy.decide(DecisionInputSchema.parse(input), { signal: signal() }),
        );
        expect(
          parsed.error?.issues,
          rule("decide() answers a valid Decision for every input"),
        ).toBeUndefined();
      }
    });
    it("is pure: the same input gets the same decision", async () => {
      const policy = await setup();
      for (const input of inputs) {
        const first = Decision.parse(await policy.decide(input, { signal: signal() }));
        const second = Decision.parse(await policy.decide(input, { signal: signal() }));
        expect(
          { ...second, decision_id: undefined },
          rule("a policy is pure: the same input gets the same decision"),
        ).toEqual({ ...first, decision_id: undefined });
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
        expect(
          DecisionInputSchema.safeParse(merged).error?.issues,
          rule(
            "enrich() answers facts that, merged into the decision input, still fit the DecisionInput schema",
          ),
        ).toBeUndefined();
        for (const [name, value] of Object.entries(found.metrics ?? {})) {
          expect(Number.isFinite(value), rule(`metric values are finite numbers (${name} is ${value})`)).toBe(
            true,
          );
        }
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
        expect(await received(), rule("notify() delivers exactly one message per notification")).toBe(1);
      } finally {
        await cleanup?.();
      }
    });
  });
}
