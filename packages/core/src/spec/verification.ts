import { z } from "zod";
import { JsonObject, Timestamp } from "./common.js";

/** What a verifier found. */
export const VerificationResult = z.object({
  /** Name of the verifier. */
  verifier: z.string().min(1),
  /** `passed`: the change is live and the symptom gone; `failed`: it is not, by the deadline. */
  outcome: z.enum(["passed", "failed"]),
  /** In words: what was checked and what was seen. */
  reason: z.string(),
  /** When the verdict was reached. */
  observedAt: Timestamp,
  /** What was measured (metric values with their queries, sync status at a revision). */
  evidence: JsonObject.optional(),
});
export type VerificationResult = z.infer<typeof VerificationResult>;
