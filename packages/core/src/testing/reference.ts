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

/** One call of a `recordingRemediator`'s `apply`. */
export interface RecordedApply {
  readonly idempotencyKey: string;
  readonly incidentId: string;
  /** Whether earlier work with the same key was found (so no new side effect was made). */
  readonly reused: boolean;
}

/** What a `recordingRemediator` did, for assertions. */
export interface RecordingRemediator extends Remediator {
  /** Idempotency keys of the side effects actually made, in order. Twice the same key is a bug. */
  readonly sideEffects: string[];
  /**
   * Every call of `apply`, in order, including the ones that found earlier work: a second apply
   * of the same plan shows up here even though it made no second side effect.
   */
  readonly applies: RecordedApply[];
  /** Every plan made (planning writes nothing). */
  readonly plans: RemediationPlan[];
  /** How many times `apply` was called with this idempotency key. */
  appliesOf(idempotencyKey: string): number;
}

/**
 * A remediator that "changes" nothing but a list: each apply records one side effect, unless
 * earlier work with the same idempotency key exists, which it returns as `reused`. The
 * reference for what every remediator must do.
 *
 * Every call is kept in `applies`, so a test sees a second apply of the same plan instead of
 * having it absorbed; with `failOnDoubleApply` that second call throws, for tests in which the
 * controller must never apply a plan twice (no crash, no takeover in between).
 */
export function recordingRemediator(
  settings: {
    readonly name?: string;
    readonly actions?: readonly string[];
    /** Called inside apply, before the side effect is recorded (to block, throw, or observe). */
    readonly beforeApply?: (plan: RemediationPlan) => Promise<void> | void;
    readonly outcome?: Partial<RemediationOutcome>;
    /**
     * Throw (a non-retryable error) on a second `apply` with an idempotency key already applied.
     * @default false
     */
    readonly failOnDoubleApply?: boolean;
  } = {},
): RecordingRemediator {
  const name = settings.name ?? "recording";
  const sideEffects: string[] = [];
  const applies: RecordedApply[] = [];
  const plans: RemediationPlan[] = [];
  return {
    name,
    actions: settings.actions ?? ["rollback", "scale_up"],
    sideEffects,
    applies,
    plans,
    appliesOf(idempotencyKey) {
      return applies.filter((call) => call.idempotencyKey === idempotencyKey).length;
    },
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
      const reused = sideEffects.includes(plan.idempotencyKey);
      applies.push({ idempotencyKey: plan.idempotencyKey, incidentId: plan.incidentId, reused });
      if (reused) {
        if (settings.failOnDoubleApply === true) {
          throw new Error(
            `${name}: apply called again for ${plan.idempotencyKey} (incident ${plan.incidentId}), already applied`,
          );
        }
        return { status: "applied", reused: true, revision: `rev-${plan.idempotencyKey}` };
      }
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
