import { describeError, RemediationError, SelfHealError } from "../errors/selfheal-error.js";
import type { AuditEvent } from "../spec/audit-event.js";
import type { Decision } from "../spec/decision.js";
import { closedStates, type Incident } from "../spec/incident.js";
import { RemediationResult } from "../spec/remediation.js";
import type { Remediator } from "../spec/remediator.js";
import { sleep, withTimeout } from "../util/async.js";
import { incidentEvent, type RuntimeContext, toJson } from "./context.js";
import { baseDecisionInput, enrich } from "./decision-input.js";
import { idempotencyKeyFor } from "./ids.js";
import { runPolicy } from "./run-policy.js";
import { close, commit, moveTo } from "./transitions.js";
import { verifyStage } from "./verify-stage.js";

/**
 * Drive one incident through its state machine until it closes, the controller stops, or it
 * must wait. Every step reads the persisted state and writes its outcome before the next
 * begins, so a restarted controller resumes each incident where the store says it is.
 */
export async function runIncident(context: RuntimeContext, incidentId: string): Promise<void> {
  let incident = await context.store.getIncident(incidentId);
  while (incident !== undefined && !closedStates.has(incident.state) && !context.stopping.aborted) {
    incident = await step(context, incident);
  }
}

async function step(context: RuntimeContext, incident: Incident): Promise<Incident | undefined> {
  switch (incident.state) {
    case "received":
      if (incident.resolvedAt !== undefined) return cancelResolved(context, incident);
      return commit(context, incident, moveTo(context, "deciding"));
    case "deciding":
      return context.decisions.run(() =>
        context.instruments.span("decide", spanAttributes(incident), () => decide(context, incident)),
      );
    case "acting":
      return context.instruments.span("remediate", spanAttributes(incident), () => act(context, incident));
    case "awaiting_merge":
      return awaitMerge(context, incident);
    case "syncing":
    case "verifying":
      return context.instruments.span(
        incident.state === "syncing" ? "sync" : "verify",
        spanAttributes(incident),
        () => verifyStage(context, incident),
      );
    case "failed":
      return escalateFailure(context, incident);
    default:
      return undefined;
  }
}

function spanAttributes(incident: Incident): Record<string, string> {
  return { "selfheal.incident": incident.id, "selfheal.service": incident.service };
}

function cancelResolved(context: RuntimeContext, incident: Incident): Promise<Incident> {
  return close(context, incident, {
    state: "cancelled",
    reason: "all alerts resolved before any action started",
  });
}

/** Enrich, decide, check guardrails, plan; then record the action as started, or close. */
async function decide(context: RuntimeContext, incident: Incident): Promise<Incident | undefined> {
  if (incident.resolvedAt !== undefined) return cancelResolved(context, incident);
  const now = context.now();
  const base = await baseDecisionInput({
    incident,
    store: context.store,
    now,
    historyWindowMs: context.historyWindowMs,
    maxReplicas: context.guardrails.replicaCap(incident.service),
  });
  const enriched = await enrich({ incident, base, enrichers: context.enrichers, signal: context.stopping });
  // Closing aborts calls under way; what they then answer says nothing about the incident.
  // Record nothing: the incident stays in `deciding` and is decided again after restart.
  if (context.stopping.aborted) return undefined;
  const events: AuditEvent[] = enriched.runs.map((run) =>
    incidentEvent(
      context,
      incident,
      run.ok ? "enrich.completed" : "enrich.failed",
      `${run.enricher}: ${run.detail}`,
      {
        data: { enricher: run.enricher, warnings: [...run.warnings] },
      },
    ),
  );
  if (enriched.stale !== undefined) {
    return close(context, incident, {
      state: "cancelled",
      reason: `stale: ${enriched.stale.reason} (${enriched.stale.enricher})`,
      events,
    });
  }

  const outcome = await runPolicy(context.policy, enriched.input, context.policyTimeoutMs, context.stopping);
  if (context.stopping.aborted) return undefined;
  const decision = outcome.decision;
  const decided = { ...decision, policy: context.policy.name, decidedAt: now.toISOString() };
  events.push(
    incidentEvent(
      context,
      incident,
      outcome.failure === undefined ? "decision.made" : "decision.failed",
      `${decision.action}: ${decision.reason}`,
      { action: decision.action, data: { decision: toJson(decided), input: toJson(enriched.input) } },
    ),
  );
  if (decision.action === "none") {
    return close(context, incident, {
      state: decision.escalate ? "escalated" : "no_action",
      reason: decision.reason,
      extra: { decision: decided },
      events,
    });
  }

  const remediator = context.remediators.find((candidate) => candidate.actions.includes(decision.action));
  const check = () =>
    context.guardrails.check({ incident, decision, supported: remediator !== undefined, now: context.now() });
  // A cheap first check spares planning work for actions that cannot go ahead anyway.
  const first = await check();
  if (!first.allowed || remediator === undefined) {
    return suppress(
      context,
      incident,
      decided,
      first.allowed ? { reason: "unsupported_action", detail: "" } : first,
      events,
    );
  }

  const idempotencyKey = idempotencyKeyFor(incident.id, decision.action);
  let plan: Incident["plan"];
  try {
    plan = await withTimeout(
      `${remediator.name}.plan`,
      remediator.timeoutMs ?? 300_000,
      (signal) => remediator.plan({ incident, decision, idempotencyKey, signal }),
      context.stopping,
    );
  } catch (error) {
    if (context.stopping.aborted) return undefined;
    const escalate = !(error instanceof RemediationError) || error.escalate;
    events.push(
      incidentEvent(context, incident, "remediation.failed", `planning failed: ${describeError(error)}`, {
        action: decision.action,
        data: {
          stage: "plan",
          error: toJson(SelfHealError.isInstance(error) ? error.toJSON() : describeError(error)),
        },
      }),
    );
    return close(context, incident, {
      state: "escalated",
      reason: `${remediator.name} could not plan ${decision.action}: ${describeError(error)}${escalate ? "" : " (will not retry)"}`,
      extra: { decision: decided },
      events,
    });
  }
  const fields = { action: decision.action, idempotencyKey, data: { plan: toJson(plan) } };
  if (plan.changes.length === 0) {
    events.push(
      incidentEvent(context, incident, "remediation.planned", `nothing to change: ${plan.summary}`, fields),
    );
    return close(context, incident, {
      state: "no_action",
      reason: `nothing to change: ${plan.summary}`,
      extra: { decision: decided, plan },
      events,
    });
  }

  return context.gate.run(async () => {
    const verdict = await check();
    if (!verdict.allowed) return suppress(context, incident, decided, verdict, events, plan);
    if (context.guardrails.dryRun) {
      events.push(
        incidentEvent(context, incident, "remediation.planned", `dry run: ${plan.summary}`, {
          ...fields,
          dryRun: true,
        }),
      );
      return suppress(
        context,
        incident,
        decided,
        { reason: "dry_run", detail: "dry run: planned, not carried out" },
        events,
        plan,
      );
    }
    return commit(context, incident, (fresh) => {
      if (fresh.resolvedAt !== undefined) {
        return {
          incident: {
            ...fresh,
            state: "cancelled",
            closedAt: context.now().toISOString(),
            closeReason: "all alerts resolved before the action started",
          },
          events: [
            ...events,
            incidentEvent(
              context,
              fresh,
              "incident.closed",
              "cancelled: all alerts resolved before the action started",
              { data: { state: "cancelled", from: fresh.state } },
            ),
          ],
        };
      }
      return {
        incident: { ...fresh, state: "acting", decision: decided, plan },
        events: [
          ...events,
          incidentEvent(context, fresh, "remediation.planned", plan.summary, fields),
          incidentEvent(context, fresh, "guardrail.passed", "all guardrails passed", {
            action: decision.action,
            idempotencyKey,
          }),
          incidentEvent(
            context,
            fresh,
            "remediation.started",
            `${remediator.name} starts ${decision.action}`,
            {
              action: decision.action,
              idempotencyKey,
            },
          ),
          incidentEvent(context, fresh, "incident.state", `${fresh.state} → acting`, {
            data: { from: fresh.state, to: "acting" },
          }),
        ],
      };
    });
  });
}

function suppress(
  context: RuntimeContext,
  incident: Incident,
  decision: NonNullable<Incident["decision"]>,
  verdict: { readonly reason: NonNullable<Incident["suppression"]>["reason"]; readonly detail: string },
  events: readonly AuditEvent[],
  plan?: Incident["plan"],
): Promise<Incident> {
  const suppressed = incidentEvent(
    context,
    incident,
    "guardrail.suppressed",
    `${verdict.reason}: ${verdict.detail}`,
    {
      action: decision.action,
      data: { reason: verdict.reason, detail: verdict.detail },
    },
  );
  return close(context, incident, {
    state: "suppressed",
    reason: `${decision.action} suppressed (${verdict.reason}): ${verdict.detail}`,
    suppression: { reason: verdict.reason, detail: verdict.detail },
    extra: plan === undefined ? { decision } : { decision, plan },
    events: [...events, suppressed],
  });
}

/** Carry out the recorded plan: the side effect, between its "started" and "completed" records. */
async function act(context: RuntimeContext, incident: Incident): Promise<Incident> {
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
  const kill = await context.guardrails.killSwitch();
  if (kill !== undefined) {
    return close(context, incident, {
      state: "suppressed",
      reason: `${plan.action} stopped before its side effect (kill_switch): ${kill}`,
      suppression: { reason: "kill_switch", detail: kill },
      events: [
        incidentEvent(context, incident, "remediation.cancelled", `not carried out: ${kill}`, keyFields),
        incidentEvent(context, incident, "guardrail.suppressed", `kill_switch: ${kill}`, {
          ...keyFields,
          data: { reason: "kill_switch", detail: kill },
        }),
      ],
    });
  }
  const startedAt = context.now().toISOString();
  let outcome: Awaited<ReturnType<Remediator["apply"]>> | undefined;
  let failure: unknown;
  // apply is idempotent on the plan's key, so a retryable failure may simply be tried again.
  for (let attempt = 1; attempt <= 3; attempt++) {
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

async function awaitMerge(context: RuntimeContext, incident: Incident): Promise<Incident | undefined> {
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
  const mergedResult = RemediationResult.parse({
    ...result,
    ...merged,
    idempotencyKey: result.idempotencyKey,
    finishedAt: context.now().toISOString(),
  });
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

/** A failed action or verification: open the circuit if it is due, notify, and close as escalated. */
async function escalateFailure(context: RuntimeContext, incident: Incident): Promise<Incident> {
  const circuit = await context.guardrails.circuit(incident.service, context.now());
  const events: AuditEvent[] = [];
  if (circuit.open && !circuit.announced) {
    events.push(
      incidentEvent(context, incident, "circuit.opened", circuit.detail, {
        data: { failures: circuit.failures },
      }),
    );
  }
  return close(context, incident, {
    state: "escalated",
    reason: `${incident.closeReason ?? "failed"}${circuit.open ? `; ${circuit.detail}` : ""}`,
    events,
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
