import {
  type ChangeRequest,
  RemediationError,
  type RemediationOutcome,
  type RemediationPlan,
} from "@selfheal/core";
import type { ChangeParams } from "./plan-change.js";

/** `selfheal/<incident>/<action>`, safe as a git ref name. */
export function branchName(idempotencyKey: string): string {
  const safe = idempotencyKey
    .split("/")
    .map((part) => part.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[.-]+|\.+$|\.lock$/g, "") || "x")
    .join("/");
  return `selfheal/${safe}`;
}

export function outcomeOf(
  request: ChangeRequest,
  head: string,
  reused: boolean,
  branch: string,
): RemediationOutcome {
  const changeRequest = { id: request.id, url: request.url, state: request.state };
  if (request.state === "merged") {
    return {
      status: "applied",
      reused,
      revision: request.mergeSha ?? head,
      changeRequest,
      details: { gitops: { branch } },
    };
  }
  return { status: "pending_merge", reused, revision: head, changeRequest, details: { gitops: { branch } } };
}

export function planParams(plan: RemediationPlan): ChangeParams {
  const params = plan.params;
  if (
    params.action === "rollback" &&
    typeof params.file === "string" &&
    typeof params.from === "string" &&
    typeof params.to === "string"
  ) {
    return { action: "rollback", file: params.file, from: params.from, to: params.to };
  }
  if (
    (params.action === "scale_up" || params.action === "scale_down") &&
    typeof params.file === "string" &&
    typeof params.field === "string" &&
    params.field !== "" &&
    typeof params.from === "number" &&
    typeof params.to === "number"
  ) {
    const ttl = typeof params.ttlMs === "number" ? { ttlMs: params.ttlMs } : {};
    return {
      action: params.action,
      file: params.file,
      field: params.field,
      from: params.from,
      to: params.to,
      ...ttl,
    };
  }
  throw new RemediationError(`plan ${plan.idempotencyKey} has params the gitops remediator did not write`, {
    adapter: "gitops",
    incidentId: plan.incidentId,
    escalate: true,
  });
}

export function planSummary(params: ChangeParams, service: string, mode: string, base: string): string {
  const how = mode === "direct" ? `a direct commit to ${base}` : `a change request onto ${base}`;
  return params.action === "rollback"
    ? `Roll ${service} back from ${params.from} to ${params.to} in ${params.file}, as ${how}.`
    : `Raise ${params.field} of ${service} from ${params.from} to ${params.to} in ${params.file}, as ${how}.`;
}
