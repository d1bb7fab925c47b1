import type { DecisionDraft, DecisionInput } from "../spec/decision.js";
import type { Enricher, Enrichment } from "../spec/enricher.js";
import type { Notification, Notifier } from "../spec/notifier.js";
import type { Policy } from "../spec/policy.js";
import type { RemediationPlan } from "../spec/remediation.js";
import type { RemediationOutcome, Remediator } from "../spec/remediator.js";
import type { Signal } from "../spec/signal.js";
import type { SignalSource } from "../spec/signal-source.js";
import type { VerificationResult } from "../spec/verification.js";
import type { Verifier } from "../spec/verifier.js";

/** A policy that answers the same decision, or whatever `decide` computes. */
export function staticPolicy(
  decision: DecisionDraft | ((input: DecisionInput) => DecisionDraft),
  name = "static",
): Policy & { readonly inputs: DecisionInput[] } {
  const inputs: DecisionInput[] = [];
  return {
    name,
    inputs,
    decide(input) {
      inputs.push(input);
      return typeof decision === "function" ? decision(input) : decision;
    },
  };
}

/** An enricher that adds the same facts every time. */
export function staticEnricher(enrichment: Enrichment, name = "static"): Enricher {
  return { name, enrich: async () => enrichment };
}

/** What a `recordingRemediator` did, for assertions. */
export interface RecordingRemediator extends Remediator {
  /** Idempotency keys of the side effects actually made, in order. Twice the same key is a bug. */
  readonly sideEffects: string[];
  /** Every plan made (planning writes nothing). */
  readonly plans: RemediationPlan[];
}

/**
 * A remediator that "changes" nothing but a list: each apply records one side effect, unless
 * earlier work with the same idempotency key exists, which it returns as `reused`. The
 * reference for what every remediator must do.
 */
export function recordingRemediator(
  settings: {
    readonly name?: string;
    readonly actions?: readonly string[];
    /** Called inside apply, before the side effect is recorded (to block, throw, or observe). */
    readonly beforeApply?: (plan: RemediationPlan) => Promise<void> | void;
    readonly outcome?: Partial<RemediationOutcome>;
  } = {},
): RecordingRemediator {
  const name = settings.name ?? "recording";
  const sideEffects: string[] = [];
  const plans: RemediationPlan[] = [];
  return {
    name,
    actions: settings.actions ?? ["rollback", "scale_up"],
    sideEffects,
    plans,
    async plan({ incident, decision, idempotencyKey }) {
      const plan: RemediationPlan = {
        idempotencyKey,
        incidentId: incident.id,
        service: incident.service,
        action: decision.action,
        params: decision.params,
        remediator: name,
        summary: `${decision.action} ${incident.service}`,
        changes: [
          {
            target: `${incident.service}.yaml`,
            description: `${decision.action} ${JSON.stringify(decision.params)}`,
          },
        ],
      };
      plans.push(plan);
      return plan;
    },
    async apply({ plan }) {
      if (sideEffects.includes(plan.idempotencyKey))
        return { status: "applied", reused: true, revision: `rev-${plan.idempotencyKey}` };
      await settings.beforeApply?.(plan);
      sideEffects.push(plan.idempotencyKey);
      return {
        status: "applied",
        reused: false,
        revision: `rev-${plan.idempotencyKey}`,
        ...settings.outcome,
      };
    },
  };
}

/** A verifier that answers the given outcomes in turn (the last one repeats). */
export function scriptedVerifier(
  outcomes:
    | readonly VerificationResult["outcome"][]
    | (() => Promise<VerificationResult["outcome"]> | VerificationResult["outcome"]),
  settings: {
    readonly name?: string;
    readonly stage?: "sync" | "recovery";
    readonly timeoutMs?: number;
  } = {},
): Verifier & { readonly calls: number } {
  let calls = 0;
  const name = settings.name ?? "scripted";
  return {
    name,
    ...(settings.stage === undefined ? {} : { stage: settings.stage }),
    ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
    get calls() {
      return calls;
    },
    async verify() {
      const outcome =
        typeof outcomes === "function"
          ? await outcomes()
          : (outcomes[Math.min(calls, outcomes.length - 1)] ?? "passed");
      calls++;
      return { verifier: name, outcome, reason: `scripted ${outcome}`, observedAt: new Date().toISOString() };
    },
  };
}

/** A pull source fed by hand: `push` emits signals and resolves once they are recorded. */
export function manualSource(
  name = "manual",
): SignalSource & { push(signals: readonly Signal[]): Promise<void> } {
  let emit: ((signals: readonly Signal[]) => Promise<void>) | undefined;
  return {
    name,
    async start(emitter, { signal }) {
      emit = emitter;
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
      emit = undefined;
    },
    async push(signals) {
      if (emit === undefined) throw new Error(`source ${name} is not started`);
      await emit(signals);
    },
  };
}

/** A notifier that keeps what it was sent. */
export function recordingNotifier(name = "recording"): Notifier & { readonly sent: Notification[] } {
  const sent: Notification[] = [];
  return {
    name,
    sent,
    async notify(notification) {
      sent.push(notification);
    },
  };
}
