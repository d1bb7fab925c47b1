import { describeError, SelfHealError } from "../errors/selfheal-error.js";
import { Decision, type DecisionInput } from "../spec/decision.js";
import type { Policy } from "../spec/policy.js";
import { withTimeout } from "../util/async.js";

/** A decision, and whether the policy failed to give a usable one. */
export interface PolicyOutcome {
  readonly decision: Decision;
  /** Why the policy's answer was not used (threw, timed out, did not parse). */
  readonly failure?: string;
  /**
   * Whether asking again later may help: the policy timed out or threw a retryable error (its
   * server unreachable). A policy that threw a plain error or answered garbage has a bug: no.
   */
  readonly retryable?: boolean;
}

/**
 * Ask a policy, failing closed: a policy that throws, times out or answers something that does
 * not parse as a `Decision` yields "no action, escalate" with the reason, never an exception.
 */
export async function runPolicy(
  policy: Policy,
  input: DecisionInput,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<PolicyOutcome> {
  let answer: unknown;
  try {
    answer = await withTimeout(
      `policy ${policy.name}`,
      timeoutMs,
      (inner) => policy.decide(input, { signal: inner }),
      signal,
    );
  } catch (error) {
    return {
      ...failClosed(`policy ${policy.name} failed: ${describeError(error)}`),
      retryable: SelfHealError.isInstance(error) && error.retryable,
    };
  }
  return decisionOf(policy.name, answer);
}

/**
 * Parse a policy's answer as a `Decision`, failing closed: an answer that does not parse yields
 * "no action, escalate" with the reason, never an exception.
 */
export function decisionOf(policyName: string, answer: unknown): PolicyOutcome {
  const parsed = Decision.safeParse(answer);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? "" : `: ${issue.path.join(".") || "(root)"} ${issue.message}`;
    return failClosed(`policy ${policyName} returned something that is not a decision${where}`);
  }
  return { decision: parsed.data };
}

function failClosed(reason: string): PolicyOutcome {
  return { decision: { action: "none", params: {}, reason, escalate: true }, failure: reason };
}
