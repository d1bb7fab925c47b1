import { describeError, RemediationError, SelfHealError, StoreError } from "../errors/selfheal-error.js";
import type { AuditEvent } from "../spec/audit-event.js";
import type { Incident } from "../spec/incident.js";
import { planContradiction } from "../spec/remediation.js";
import { sleep, withTimeout } from "../util/async.js";
import { incidentEvent, type RuntimeContext, toJson } from "./context.js";
import { baseDecisionInput, enrich, explainUnknowns } from "./decision-input.js";
import { dependencyFailures, retryDecision } from "./decision-retry.js";
import { followUpDecision } from "./follow-ups.js";
import { idempotencyKeyFor } from "./ids.js";
import { runPolicy } from "./run-policy.js";
import { close, commit } from "./transitions.js";

/**
 * Guardrails are checked and the action recorded as started as one step: within this process
 * under a lock, and across controllers sharing a store under the store's `guardrails` claim,
 * so rate limits and the concurrency limit count every replica's actions.
 */
async function withGuardrailClaim<T>(context: RuntimeContext, work: () => Promise<T>): Promise<T> {
  return context.gate.run(async () => {
    const { store } = context;
    if (store.claim === undefined) return work();
    const deadline = Date.now() + context.claimTtlMs;
    for (;;) {
      const claim = await store.claim("guardrails", context.actor, context.claimTtlMs);
      if (claim !== undefined) {
        try {
          return await work();
        } finally {
          await store.releaseClaim?.(claim).catch(() => undefined);
        }
      }
      if (Date.now() > deadline) {
        throw new StoreError("the guardrails claim stayed held by another controller", {
          adapter: "controller",
          operation: "claim",
        });
      }
      await sleep(10 + Math.random() * 40, context.stopping);
    }
  });
}

export function cancelResolved(context: RuntimeContext, incident: Incident): Promise<Incident> {
  return close(context, incident, {
    state: "cancelled",
    reason: "all alerts resolved before any action started",
  });
}

/** Enrich, decide, check guardrails, plan; then record the action as started, or close. */
export async function decide(context: RuntimeContext, incident: Incident): Promise<Incident | undefined> {
  if (incident.resolvedAt !== undefined) return cancelResolved(context, incident);
  const retryAt = incident.decisionRetry === undefined ? undefined : Date.parse(incident.decisionRetry.at);
  if (retryAt !== undefined && retryAt > context.now().getTime()) {
    // A decision that failed for a dependency waits for its next attempt.
    context.wakeAt(incident.id, retryAt);
    return undefined;
  }
  const now = context.now();
  const base = {
    ...(await baseDecisionInput({
      incident,
      store: context.store,
      now,
      historyWindowMs: context.historyWindowMs,
      maxReplicas: context.guardrails.replicaCap(incident.service),
    })),
    ...context.sourceInput(incident),
  };
  const enriched = await enrich({ incident, base, enrichers: context.enrichers, signal: context.stopping });
  // Closing aborts calls under way; what they then answer says nothing about the incident.
  // Record nothing: the incident stays in `deciding` and is decided again after restart.
  if (context.stopping.aborted) return undefined;
  const events: AuditEvent[] = enriched.runs.map((run) => {
    if (!run.ok) {
      context.logger.warn(`incident ${incident.id}: enricher ${run.enricher} failed: ${run.detail}`, {
        incidentId: incident.id,
      });
    }
    return incidentEvent(
      context,
      incident,
      run.ok ? "enrich.completed" : "enrich.failed",
      `${run.enricher}: ${run.detail}`,
      { data: { enricher: run.enricher, warnings: [...run.warnings], failures: [...run.failures] } },
    );
  });
  if (enriched.stale !== undefined) {
    return close(context, incident, {
      state: "cancelled",
      reason: `stale: ${enriched.stale.reason} (${enriched.stale.enricher})`,
      events,
    });
  }

  // A follow-up (a time-boxed action's revert) carries its decision; the policy is not asked.
  const fixed = followUpDecision(incident);
  const outcome =
    fixed === undefined
      ? await runPolicy(context.policy, enriched.input, context.policyTimeoutMs, context.stopping)
      : { decision: fixed };
  if (context.stopping.aborted) return undefined;
  const policyName = fixed === undefined ? context.policy.name : "follow-up";
  const failures = dependencyFailures(
    enriched.runs,
    outcome.retryable === true ? outcome.failure : undefined,
  );
  if (outcome.decision.action === "none" && failures.length > 0) {
    const retried = await retryDecision(context, incident, { failures, events });
    if (retried !== undefined) return retried;
  }
  const explained =
    outcome.decision.action === "none" && outcome.decision.escalate
      ? { ...outcome.decision, reason: explainUnknowns(outcome.decision.reason, enriched.runs) }
      : outcome.decision;
  const decision =
    failures.length === 0
      ? explained
      : {
          ...explained,
          reason: `${explained.reason} (decided while ${failures.map((failure) => failure.cause).join("; ")}${
            incident.decisionRetry === undefined
              ? ""
              : `; after ${incident.decisionRetry.attempt + 1} attempts`
          })`,
        };
  const decided = { ...decision, policy: policyName, decidedAt: now.toISOString() };
  events.push(
    incidentEvent(
      context,
      incident,
      outcome.failure === undefined && (decision.action !== "none" || failures.length === 0)
        ? "decision.made"
        : "decision.failed",
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
      // The decision as recorded (with the policy that made it and when), so a change request can
      // name the policy and a commit can carry the decision's identity.
      (signal) =>
        remediator.plan({
          incident,
          decision: decided,
          idempotencyKey,
          input: enriched.input,
          redactor: context.redactor,
          signal,
        }),
      context.stopping,
    );
    const contradiction = planContradiction(plan);
    if (contradiction !== undefined) {
      throw new RemediationError(contradiction, {
        incidentId: incident.id,
        adapter: remediator.name,
        operation: "plan",
        escalate: true,
      });
    }
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
  // Only an explicit `noop` skips apply: an empty `changes` is also what an API-only action
  // (a restart, a flush) plans, and that one must be carried out.
  if (plan.noop === true) {
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

  return withGuardrailClaim(context, async () => {
    const verdict = await check();
    if (!verdict.allowed) return suppress(context, incident, decided, verdict, events, plan);
    const dryRun = context.guardrails.dryRunOf(incident);
    if (dryRun !== undefined) {
      events.push(
        incidentEvent(context, incident, "remediation.planned", `dry run: ${plan.summary}`, {
          ...fields,
          dryRun: true,
        }),
      );
      return suppress(context, incident, decided, { reason: "dry_run", detail: dryRun }, events, plan);
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
