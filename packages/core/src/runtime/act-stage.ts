import { describeError, RemediationError, SelfHealError } from "../errors/selfheal-error.js";
import type { Decision } from "../spec/decision.js";
import type { Incident } from "../spec/incident.js";
import { RemediationResult } from "../spec/remediation.js";
import type { Remediator } from "../spec/remediator.js";
import { sleep, withTimeout } from "../util/async.js";
import { incidentEvent, type RuntimeContext, toJson } from "./context.js";
import { beforeRemediation } from "./hooks.js";
import { close, commit, moveTo } from "./transitions.js";

/** Carry out the recorded plan: the side effect, between its "started" and "completed" records. */
export async function act(context: RuntimeContext, current: Incident): Promise<Incident> {
  let incident = current;
  const plan = incident.plan;
  const remediator = plan === undefined ? undefined : findRemediator(context, plan.remediator, plan.action);
  if (plan === undefined || remediator === undefined) {
    return commit(
      context,
      incident,
      moveTo(context, "failed", { closeReason: "no plan or remediator for the recorded action" }),
    );
  }
  const keyFields = { action: plan.action, idempotencyKey: plan.idempotencyKey };
  const stopped = await stopIfKilled(context, incident, keyFields);
  if (stopped !== undefined) return stopped;
  const before = await beforeRemediation(context, incident, plan);
  if (before.events.length > 0) {
    const { hooks, events } = before;
    incident = await commit(context, incident, (fresh) => ({
      incident: hooks === undefined ? fresh : { ...fresh, details: { ...fresh.details, hooks } },
      events,
    }));
    if (incident.state !== "acting") return incident;
  }
  const startedAt = context.now().toISOString();
  let outcome: Awaited<ReturnType<Remediator["apply"]>> | undefined;
  let failure: unknown;
  // apply is idempotent on the plan's key, so a retryable failure may simply be tried again.
  for (let attempt = 1; attempt <= 3; attempt++) {
    // Read again right before each side effect: hooks and retry pauses take seconds, and an
    // operator who pulls the switch meanwhile must stop this apply, not only the next incident.
    const killed = await stopIfKilled(context, incident, keyFields, attempt > 1 ? failure : undefined);
    if (killed !== undefined) return killed;
    try {
      outcome = await withTimeout(`${remediator.name}.apply`, remediator.timeoutMs ?? 300_000, (signal) =>
        remediator.apply({ incident, plan, signal }),
      );
      break;
    } catch (error) {
      failure = error;
      const retryable =
        SelfHealError.isInstance(error) &&
        error.retryable &&
        !(error instanceof RemediationError && error.escalate);
      if (!retryable || attempt === 3 || context.stopping.aborted) break;
      context.logger.warn(`${remediator.name}.apply failed, retrying`, {
        incidentId: incident.id,
        attempt,
        error,
      });
      await sleep(1000 * attempt * (0.5 + Math.random()));
    }
  }
  if (outcome === undefined) {
    return commit(context, incident, (fresh) => ({
      incident: {
        ...fresh,
        state: "failed",
        closeReason: `${plan.action} failed: ${describeError(failure)}`,
      },
      events: [
        incidentEvent(context, fresh, "remediation.failed", `${remediator.name}: ${describeError(failure)}`, {
          ...keyFields,
          data: {
            error: toJson(
              SelfHealError.isInstance(failure) ? failure.toJSON() : { message: describeError(failure) },
            ),
          },
        }),
      ],
    }));
  }
  const parsed = RemediationResult.safeParse({
    ...outcome,
    idempotencyKey: plan.idempotencyKey,
    startedAt,
    finishedAt: context.now().toISOString(),
  });
  if (!parsed.success) {
    const detail = `${remediator.name}.apply returned an invalid result: ${parsed.error.issues[0]?.message ?? "unknown"}`;
    return commit(context, incident, (fresh) => ({
      incident: { ...fresh, state: "failed", closeReason: detail },
      events: [incidentEvent(context, fresh, "remediation.failed", detail, keyFields)],
    }));
  }
  const result = parsed.data;
  const next =
    result.status === "pending_merge"
      ? "awaiting_merge"
      : context.verifiers.some((v) => v.stage === "sync")
        ? "syncing"
        : "verifying";
  const done = await commit(
    context,
    incident,
    moveTo(context, next, { result }, [
      incidentEvent(
        context,
        incident,
        "remediation.completed",
        `${remediator.name}: ${result.status}${result.reused ? " (earlier work found)" : ""}`,
        {
          ...keyFields,
          data: { result: toJson(result) },
        },
      ),
      ...(result.followUp === undefined
        ? []
        : [
            incidentEvent(
              context,
              incident,
              "followup.scheduled",
              `${result.followUp.action} at ${result.followUp.at} if ${incident.service} is healthy then: ${result.followUp.reason}`,
              { ...keyFields, data: toJson(result.followUp) },
            ),
          ]),
      ...(result.quarantine ?? []).map((entry) =>
        incidentEvent(
          context,
          incident,
          "quarantine.added",
          `${entry.version} quarantined until ${entry.until}`,
          {
            ...keyFields,
            data: { version: entry.version, until: entry.until },
          },
        ),
      ),
    ]),
  );
  context.notify({
    kind: "remediated",
    incident: done,
    title: `${plan.action} on ${incident.service}: ${result.status}`,
    text: plan.summary,
    ...(result.changeRequest === undefined
      ? {}
      : { links: [{ label: "change request", url: result.changeRequest.url }] }),
  });
  return done;
}

export async function awaitMerge(context: RuntimeContext, incident: Incident): Promise<Incident | undefined> {
  const { plan, result } = incident;
  const remediator = plan === undefined ? undefined : findRemediator(context, plan.remediator, plan.action);
  if (plan === undefined || result === undefined || remediator?.awaitMerge === undefined) {
    return commit(context, incident, moveTo(context, "verifying"));
  }
  const awaitMergeOf = remediator.awaitMerge.bind(remediator);
  let merged: Awaited<ReturnType<NonNullable<Remediator["awaitMerge"]>>>;
  try {
    merged = await withTimeout(
      `${remediator.name}.awaitMerge`,
      context.mergeTimeoutMs,
      (signal) => awaitMergeOf({ incident, plan, result, signal }),
      context.stopping,
    );
  } catch (error) {
    if (context.stopping.aborted) return undefined;
    return commit(
      context,
      incident,
      moveTo(context, "failed", { closeReason: `change request not merged: ${describeError(error)}` }),
    );
  }
  const parsed = RemediationResult.safeParse({
    ...result,
    ...merged,
    idempotencyKey: result.idempotencyKey,
    finishedAt: context.now().toISOString(),
  });
  if (!parsed.success) {
    const detail = `${remediator.name}.awaitMerge returned an invalid result: ${parsed.error.issues[0]?.message ?? "unknown"}`;
    return commit(context, incident, moveTo(context, "failed", { closeReason: detail }));
  }
  const mergedResult = parsed.data;
  const next = context.verifiers.some((v) => v.stage === "sync") ? "syncing" : "verifying";
  return commit(
    context,
    incident,
    moveTo(context, next, { result: mergedResult }, [
      incidentEvent(
        context,
        incident,
        "merge.completed",
        `merged${mergedResult.revision === undefined ? "" : ` at ${mergedResult.revision}`}`,
        {
          action: plan.action,
          idempotencyKey: plan.idempotencyKey,
          data: { result: toJson(mergedResult) },
        },
      ),
    ]),
  );
}

/**
 * Close the incident as suppressed, with `remediation.cancelled`, when the kill switch is on;
 * `undefined` when it is off and the side effect may go ahead. `failed` is the failure of the
 * attempt before, when this check comes before a retry: that attempt is said, not hidden.
 */
async function stopIfKilled(
  context: RuntimeContext,
  incident: Incident,
  keyFields: { readonly action: Decision["action"]; readonly idempotencyKey: string },
  failed?: unknown,
): Promise<Incident | undefined> {
  const kill = await context.guardrails.killSwitch();
  if (kill === undefined) return undefined;
  const what =
    failed === undefined
      ? "not carried out"
      : `not tried again after a failed attempt (${describeError(failed)})`;
  return close(context, incident, {
    state: "suppressed",
    reason: `${keyFields.action} stopped before its side effect (kill_switch): ${kill}`,
    suppression: { reason: "kill_switch", detail: kill },
    events: [
      incidentEvent(context, incident, "remediation.cancelled", `${what}: ${kill}`, keyFields),
      incidentEvent(context, incident, "guardrail.suppressed", `kill_switch: ${kill}`, {
        ...keyFields,
        data: { reason: "kill_switch", detail: kill },
      }),
    ],
  });
}

function findRemediator(
  context: RuntimeContext,
  name: string,
  action: Decision["action"],
): Remediator | undefined {
  return context.remediators.find(
    (candidate) => candidate.name === name && candidate.actions.includes(action),
  );
}
