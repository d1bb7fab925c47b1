import {
  type AuditEvent,
  type CallOptions,
  type Decision,
  type DecisionDraft,
  type DecisionInput,
  decisionOf,
  describeError,
  type Logger,
  type Policy,
  type PolicyOutcome,
  runPolicy,
  type Store,
  silentLogger,
} from "@selfheal/core";
import { eventId } from "@selfheal/core/internal";

/** One policy's side of a shadow comparison. */
export interface ShadowOutcome {
  /** The policy's name. */
  readonly policy: string;
  /** Its decision as the controller would parse it, or "none, escalate" when it failed. */
  readonly decision: Decision;
  /** Why its answer was not usable (threw, timed out, not a decision). Absent when it answered. */
  readonly failure?: string;
  /** How long it took, in milliseconds. */
  readonly durationMs: number;
}

/** Both decisions on one input, recorded by {@link shadowPolicy}. */
export interface ShadowComparison {
  /** The input both policies decided on. */
  readonly input: DecisionInput;
  /** The decision the controller acts on. */
  readonly active: ShadowOutcome;
  /** The decision the candidate would have made; never acted on. */
  readonly candidate: ShadowOutcome;
  /** Same action, params and escalate (reasons and decision ids may differ). */
  readonly agree: boolean;
}

/** Settings of {@link shadowPolicy}. */
export interface ShadowPolicySettings {
  /** The policy whose decisions count. */
  readonly active: Policy;
  /** The policy on trial: asked the same input at the same time, its answer only recorded. */
  readonly candidate: Policy;
  /**
   * Receives both decisions once the candidate has answered or timed out, after the active
   * decision has been returned. Errors it throws are logged and otherwise ignored.
   * @default none (comparisons are only logged at debug level)
   */
  readonly onShadowDecision?: (comparison: ShadowComparison) => void | Promise<void>;
  /**
   * Most time the candidate may take, in milliseconds. The active decision never waits for it.
   * @default 2000
   */
  readonly candidateTimeoutMs?: number;
  /**
   * Where failures of `onShadowDecision` and comparisons go.
   * @default silentLogger
   */
  readonly logger?: Logger;
  /**
   * Name recorded with every decision.
   * @default the active policy's name
   */
  readonly name?: string;
}

/** A shadow-mode policy; `drain()` waits for the comparisons still under way. */
export interface ShadowPolicy extends Policy {
  /** Resolves once every comparison started so far has been handed to `onShadowDecision`. */
  drain(): Promise<void>;
}

/**
 * Shadow mode: decide with `active` and return its answer unchanged, while `candidate` decides on
 * the same input concurrently. The candidate's failure or slowness never changes or delays the
 * active answer; both decisions are handed to `onShadowDecision` for the audit trail.
 */
export function shadowPolicy(settings: ShadowPolicySettings): ShadowPolicy {
  const { active, candidate } = settings;
  const candidateTimeoutMs = settings.candidateTimeoutMs ?? 2000;
  const logger = settings.logger ?? silentLogger;
  const pending = new Set<Promise<void>>();

  const record = async (comparison: ShadowComparison): Promise<void> => {
    logger.debug("shadow decision", {
      active: comparison.active.policy,
      candidate: comparison.candidate.policy,
      agree: comparison.agree,
      activeAction: comparison.active.decision.action,
      candidateAction: comparison.candidate.decision.action,
    });
    try {
      await settings.onShadowDecision?.(comparison);
    } catch (error) {
      logger.warn("shadow policy: onShadowDecision failed", { error: describeError(error) });
    }
  };

  const track = (work: Promise<void>): void => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };

  const policy: ShadowPolicy = {
    name: settings.name ?? active.name,
    async decide(input: DecisionInput, options: CallOptions): Promise<DecisionDraft> {
      // Started first, so both run concurrently; it is never awaited on this path.
      const candidateRun = outcomeOf(candidate, input, candidateTimeoutMs, options.signal);
      const started = performance.now();
      let answer: DecisionDraft;
      try {
        answer = await active.decide(input, options);
      } catch (error) {
        const failed = thrownOutcome(active.name, error, started);
        track(candidateRun.then((other) => record(compare(input, failed, other))));
        throw error;
      }
      const activeOutcome = timed(active.name, decisionOf(active.name, answer), started);
      track(candidateRun.then((other) => record(compare(input, activeOutcome, other))));
      return answer;
    },
    async drain() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
  // Readiness is the active policy's alone: a candidate that is down must not stop the controller.
  const ready = active.ready?.bind(active);
  return ready === undefined ? policy : { ...policy, ready };
}

async function outcomeOf(
  policy: Policy,
  input: DecisionInput,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ShadowOutcome> {
  const started = performance.now();
  return timed(policy.name, await runPolicy(policy, input, timeoutMs, signal), started);
}

function timed(policy: string, outcome: PolicyOutcome, started: number): ShadowOutcome {
  return { policy, ...outcome, durationMs: performance.now() - started };
}

/** The active policy threw: recorded as the core records it, while the error itself is rethrown. */
function thrownOutcome(policy: string, error: unknown, started: number): ShadowOutcome {
  const reason = `policy ${policy} failed: ${describeError(error)}`;
  const decision: Decision = { action: "none", params: {}, reason, escalate: true };
  return timed(policy, { decision, failure: reason }, started);
}

function compare(input: DecisionInput, active: ShadowOutcome, candidate: ShadowOutcome): ShadowComparison {
  const a = active.decision;
  const b = candidate.decision;
  const agree = a.action === b.action && a.escalate === b.escalate && sameJson(a.params, b.params);
  return { input, active, candidate, agree };
}

/** Deep equality of JSON values, key order ignored (OPA sorts object keys; TypeScript does not). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  return keys.every((key) => Object.hasOwn(right, key) && sameJson(left[key], right[key]));
}

/**
 * An `onShadowDecision` that records every comparison in the audit trail as a
 * `decision.shadow` event of the incident decided on: both decisions, whether they agree,
 * and how long each took.
 */
export function recordShadowDecisions(
  store: Pick<Store, "appendEvents">,
  actor = "shadow-policy",
): (comparison: ShadowComparison) => Promise<void> {
  return async (comparison) => {
    const { input, active, candidate, agree } = comparison;
    const side = (outcome: ShadowOutcome) => ({
      policy: outcome.policy,
      action: outcome.decision.action,
      params: outcome.decision.params,
      reason: outcome.decision.reason,
      escalate: outcome.decision.escalate,
      ...(outcome.decision.decision_id === undefined ? {} : { decision_id: outcome.decision.decision_id }),
      ...(outcome.failure === undefined ? {} : { failure: outcome.failure }),
      duration_ms: Math.round(outcome.durationMs * 10) / 10,
    });
    const event: AuditEvent = {
      id: eventId(),
      at: new Date().toISOString(),
      type: "decision.shadow",
      incidentId: input.incident.id,
      service: input.service,
      actor,
      message: `${agree ? "agrees" : "differs"}: ${active.policy} ${active.decision.action}, candidate ${candidate.policy} ${candidate.decision.action}`,
      data: { agree, active: side(active), candidate: side(candidate) },
    };
    await store.appendEvents([event]);
  };
}
