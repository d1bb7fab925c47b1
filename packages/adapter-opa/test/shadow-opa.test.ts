import { builtinPolicy, createController, decideBuiltin, memoryStore, silentLogger } from "@selfheal/core";
import { makeSignal, recordingRemediator, staticEnricher } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type OpaPolicy,
  opaPolicy,
  recordShadowDecisions,
  type ShadowComparison,
  shadowPolicy,
} from "../src/index.js";
import { opaGate, type RunningOpa, shippedPolicyFile, startOpa } from "../src/testing/index.js";
import { loadCorpus } from "./corpus.js";

// Shadow mode with the built-in policy active and the shipped Rego in a real OPA as candidate:
// what an operator runs before switching to OPA. On the corpus they agree; when OPA is given
// other settings the disagreement is recorded while only the built-in decision is acted on.
const gate = await opaGate();
const corpus = await loadCorpus();
const call = () => ({ signal: AbortSignal.timeout(20_000) });

describe.skipIf(gate.skip)(
  `shadow mode: built-in active, real OPA candidate${gate.skip ? ` (${gate.why})` : ""}`,
  () => {
    let same: RunningOpa;
    let stricter: RunningOpa;
    const policies: OpaPolicy[] = [];
    beforeAll(async () => {
      same = await startOpa({ files: [shippedPolicyFile], args: ["--set=decision_logs.console=true"] });
      // The same Rego, told to allow no rollback at all: it must disagree on every rollback.
      stricter = await startOpa({
        files: [shippedPolicyFile],
        data: { selfheal: { config: { maxRollbacks: 0 } } },
      });
    });
    afterAll(async () => {
      for (const policy of policies) await policy.close();
      await same?.stop();
      await stricter?.stop();
    });
    const candidate = (url: string) => {
      const policy = opaPolicy({ url, name: "opa" });
      policies.push(policy);
      return policy;
    };

    it("agrees with the built-in policy on every corpus input, and returns the built-in answer", async () => {
      const comparisons: ShadowComparison[] = [];
      const shadow = shadowPolicy({
        active: builtinPolicy(),
        candidate: candidate(same.url),
        onShadowDecision: (comparison) => void comparisons.push(comparison),
      });
      // Cases with their own settings are left out: the shadow's two policies have one setting each.
      const inputs = corpus.cases.filter((entry) => entry.settings === undefined).map((entry) => entry.input);
      for (const input of inputs) expect(await shadow.decide(input, call())).toEqual(decideBuiltin(input));
      await shadow.drain();
      expect(comparisons).toHaveLength(inputs.length);
      expect(comparisons.filter((comparison) => !comparison.agree).map((c) => c.input.alert.labels)).toEqual(
        [],
      );
      for (const comparison of comparisons) {
        expect(comparison.candidate.failure).toBeUndefined();
        expect(comparison.candidate.decision.decision_id).toMatch(/^[0-9a-f-]{36}$/);
        expect(comparison.candidate.decision.reason).toBe(comparison.active.decision.reason);
      }
    });

    it("through the controller, records a differing OPA in the audit trail and acts on the built-in decision", async () => {
      const store = memoryStore();
      const remediator = recordingRemediator();
      const policy = shadowPolicy({
        active: builtinPolicy(),
        candidate: candidate(stricter.url),
        onShadowDecision: recordShadowDecisions(store),
      });
      const controller = createController({
        store,
        policy,
        enrich: [
          staticEnricher({
            metrics: { error_rate: 0.3, restart_count: 5 },
            deployment: { image: "registry/checkout:v1.2.0", previous_image: "registry/checkout:v1.1.0" },
          }),
        ],
        remediate: remediator,
        logger: silentLogger,
      });
      try {
        await controller.handle([makeSignal({ service: "checkout" })]);
        await controller.settled();
        await policy.drain();
        const [shadow] = await store.listEvents({ types: ["decision.shadow"] });
        expect(shadow?.data).toMatchObject({
          agree: false,
          active: { policy: "builtin", action: "rollback", params: { image: "registry/checkout:v1.1.0" } },
          candidate: {
            policy: "opa",
            action: "none",
            escalate: true,
            reason: "rollback limit reached: 0 rollbacks in the last 30m",
          },
        });
        expect(remediator.sideEffects).toHaveLength(1);
      } finally {
        await controller.close({ timeout: 5000 });
      }
    });
  },
);
