import type { CallOptions } from "./common.js";
import type { DecisionDraft, DecisionInput } from "./decision.js";

/**
 * Maps a decision input to a decision. Policies are pure: no clock (use `input.now`), no
 * network lookups of history (use `input.history`).
 *
 * The controller parses whatever comes back with the `Decision` schema; a policy that throws,
 * times out or returns something else yields a recorded "no action, escalate".
 */
export interface Policy {
  /** Name recorded with every decision (`builtin`, `opa:selfheal/decision`). */
  readonly name: string;
  /** Decide. May be synchronous. */
  decide(input: DecisionInput, options: CallOptions): DecisionDraft | Promise<DecisionDraft>;
  /** Ready to decide (e.g. OPA's `/health` answers). Absent means always ready. */
  ready?(options: CallOptions): Promise<boolean>;
}
