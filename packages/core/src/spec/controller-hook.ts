import type { CallOptions, JsonObject } from "./common.js";
import type { Incident } from "./incident.js";
import type { RemediationPlan } from "./remediation.js";

/**
 * Something to do around a remediation that is not the remediation itself: silence the alert in
 * Alertmanager while the change is in flight, announce it in a channel. Hooks never decide and
 * never block: a hook that fails or times out is recorded (`hook.failed`) and the incident goes on.
 */
export interface ControllerHook {
  /** Name in the audit trail, and the key its data is kept under in `incident.details.hooks`. */
  readonly name: string;
  /**
   * Most time each call may take, in milliseconds.
   * @default 5000
   */
  readonly timeoutMs?: number;
  /**
   * Called once the action is recorded as started, before the remediator's `apply`. What it
   * returns is kept on the incident (`details.hooks[name]`) for `afterClose`, also after a restart.
   */
  beforeRemediation?(
    options: HookOptions & { readonly plan: RemediationPlan },
  ): Promise<JsonObject | undefined>;
  /**
   * Called once when an incident that ran `beforeRemediation` closes, whatever its final state;
   * `data` is what `beforeRemediation` returned.
   */
  afterClose?(options: HookOptions & { readonly data: JsonObject }): Promise<void>;
}

/** What a hook is called with. */
export interface HookOptions extends CallOptions {
  readonly incident: Incident;
}
