import type { CallOptions } from "./common.js";
import type { Incident } from "./incident.js";
import type { RemediationPlan, RemediationResult } from "./remediation.js";
import type { VerificationResult } from "./verification.js";

/**
 * Checks that a remediation worked. `sync` verifiers run first (the change is live: Argo CD
 * `Synced` and `Healthy` at our revision), then `recovery` verifiers (the symptom is gone).
 * Verifiers only read; they may be called again after a restart. A verifier that throws or
 * passes its deadline counts as failed.
 */
export interface Verifier {
  /** Name recorded in the audit trail. */
  readonly name: string;
  /**
   * When it runs.
   * @default "recovery"
   */
  readonly stage?: "sync" | "recovery";
  /**
   * Most time the verification may take, in milliseconds.
   * @default 600000
   */
  readonly timeoutMs?: number;
  /** Verify; resolve with a verdict. */
  verify(options: VerifyOptions): Promise<VerificationResult>;
}

/** What `verify` is called with. */
export interface VerifyOptions extends CallOptions {
  readonly incident: Incident;
  readonly plan: RemediationPlan;
  readonly result: RemediationResult;
}
