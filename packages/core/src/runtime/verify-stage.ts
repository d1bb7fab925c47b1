import { describeError } from "../errors/selfheal-error.js";
import type { AuditEvent } from "../spec/audit-event.js";
import type { Incident } from "../spec/incident.js";
import { VerificationResult } from "../spec/verification.js";
import type { Verifier } from "../spec/verifier.js";
import { withTimeout } from "../util/async.js";
import { incidentEvent, type RuntimeContext, toJson } from "./context.js";
import { close, commit, moveTo } from "./transitions.js";

const defaultVerifyTimeoutMs = 600_000;

/**
 * Run the verifiers of the incident's stage (`syncing`: sync verifiers; `verifying`: recovery
 * verifiers) in order, within a deadline fixed when the stage began so that a restart keeps it.
 * All pass → next stage (or resolved); one fails → failed. If the controller stops meanwhile,
 * nothing is recorded and the stage runs again after restart (verifiers only read).
 */
export async function verifyStage(
  context: RuntimeContext,
  incident: Incident,
): Promise<Incident | undefined> {
  const stage = incident.state === "syncing" ? "sync" : "recovery";
  const verifiers = context.verifiers.filter((verifier) => (verifier.stage ?? "recovery") === stage);
  const plan = incident.plan;
  const result = incident.result;
  if (plan === undefined || result === undefined) {
    return commit(
      context,
      incident,
      moveTo(context, "failed", { closeReason: "verification without a recorded result" }),
    );
  }
  const keyFields = { action: plan.action, idempotencyKey: plan.idempotencyKey };
  let current = incident;
  if (current.verifyDeadline === undefined || current.details?.verifyStage !== stage) {
    const budget = verifiers.reduce(
      (sum, verifier) => sum + (verifier.timeoutMs ?? defaultVerifyTimeoutMs),
      0,
    );
    const deadline = new Date(context.now().getTime() + budget).toISOString();
    current = await commit(context, current, (fresh) => ({
      incident: { ...fresh, verifyDeadline: deadline, details: { ...fresh.details, verifyStage: stage } },
      events: [
        incidentEvent(
          context,
          fresh,
          "verification.started",
          `${stage} verification by ${verifiers.map((v) => v.name).join(", ") || "none"} until ${deadline}`,
          {
            ...keyFields,
            data: { stage, deadline, verifiers: verifiers.map((v) => v.name) },
          },
        ),
      ],
    }));
    if (current.state !== incident.state) return current;
  }

  const verdicts: VerificationResult[] = [];
  for (const verifier of verifiers) {
    const remaining = Math.max(Date.parse(current.verifyDeadline ?? "") - context.now().getTime(), 10_000);
    const verdict = await runVerifier(
      context,
      current,
      verifier,
      Math.min(remaining, verifier.timeoutMs ?? defaultVerifyTimeoutMs),
    );
    if (verdict === undefined) return undefined;
    verdicts.push(verdict);
    if (verdict.outcome === "failed") break;
  }
  const events: AuditEvent[] = verdicts.map((verdict) =>
    incidentEvent(
      context,
      current,
      verdict.outcome === "passed" ? "verification.passed" : "verification.failed",
      `${verdict.verifier}: ${verdict.reason}`,
      {
        ...keyFields,
        data: { verdict: toJson(verdict) },
      },
    ),
  );
  const verifications = [...current.verifications, ...verdicts];
  const failed = verdicts.find((verdict) => verdict.outcome === "failed");
  if (failed !== undefined) {
    return commit(
      context,
      current,
      moveTo(
        context,
        "failed",
        { verifications, closeReason: `verification failed: ${failed.verifier}: ${failed.reason}` },
        events,
      ),
    );
  }
  if (stage === "sync")
    return commit(context, current, moveTo(context, "verifying", { verifications }, events));
  const reason =
    verifiers.length === 0
      ? `${plan.action} ${result.status}; no verifier configured`
      : `${plan.action} verified: ${verdicts.map((verdict) => verdict.reason).join("; ")}`;
  return close(context, current, { state: "resolved", reason, extra: { verifications }, events });
}

/** One verifier's verdict; a throw or a timeout is a failed verdict; `undefined` when stopping. */
async function runVerifier(
  context: RuntimeContext,
  incident: Incident,
  verifier: Verifier,
  timeoutMs: number,
): Promise<VerificationResult | undefined> {
  const { plan, result } = incident;
  if (plan === undefined || result === undefined) return undefined;
  try {
    const verdict = await withTimeout(
      `verifier ${verifier.name}`,
      timeoutMs,
      (signal) => verifier.verify({ incident, plan, result, signal }),
      context.stopping,
    );
    return VerificationResult.parse(verdict);
  } catch (error) {
    if (context.stopping.aborted) return undefined;
    return {
      verifier: verifier.name,
      outcome: "failed",
      reason: describeError(error),
      observedAt: context.now().toISOString(),
    };
  }
}
