import { RemediationError, type RemediationPlan } from "@selfheal/core";
import { z } from "zod";

/** What a gitops plan records under `details.gitops`: enough for `apply` after a restart. */
export const GitopsDetails = z.object({
  /** The config repo's URL. */
  repo: z.string(),
  /** The branch changes land on. */
  base: z.string(),
  /** The base's head when planned. */
  head: z.string(),
  /** The change request's branch, named after the idempotency key. */
  branch: z.string(),
  mode: z.enum(["change_request", "direct"]),
  title: z.string(),
  body: z.string(),
  labels: z.array(z.string()),
  /** The commit message, trailers included. */
  message: z.string(),
});
export type GitopsDetails = z.infer<typeof GitopsDetails>;

/** The gitops details of a plan; a plan made by another remediator is an error. */
export function gitopsDetails(plan: RemediationPlan): GitopsDetails {
  const parsed = GitopsDetails.safeParse(plan.details?.gitops);
  if (!parsed.success) {
    throw new RemediationError(`plan ${plan.idempotencyKey} has no gitops details: ${parsed.error.message}`, {
      adapter: "gitops",
      incidentId: plan.incidentId,
      escalate: true,
    });
  }
  return parsed.data;
}
