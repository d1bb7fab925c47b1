import type { AuditEvent } from "../spec/audit-event.js";
import type { Incident } from "../spec/incident.js";
import { incidentEvent, type RuntimeContext } from "./context.js";
import type { EnricherRun } from "./decision-input.js";
import { commit } from "./transitions.js";

/** When a decision that failed for a dependency is made again. */
export interface DecisionRetryTiming {
  /** Wait before the second attempt; doubled after each failure. */
  readonly initialDelayMs: number;
  /** Longest wait between two attempts. */
  readonly maxDelayMs: number;
  /** After this long since the incident opened, stop and escalate with the cause. */
  readonly giveUpAfterMs: number;
}

/** One dependency that failed during a decision: who (an enricher's name, or `policy`) and why. */
export interface DependencyFailure {
  readonly dependency: string;
  readonly cause: string;
}

/** The dependencies that failed while deciding: enrichers' sources, and the policy itself. */
export function dependencyFailures(
  runs: readonly EnricherRun[],
  policyFailure: string | undefined,
): DependencyFailure[] {
  const failures = runs.flatMap((run) =>
    run.failures.map((cause) => ({ dependency: run.enricher, cause: `${run.enricher}: ${cause}` })),
  );
  if (policyFailure !== undefined) failures.push({ dependency: "policy", cause: policyFailure });
  return failures;
}

/**
 * A decision came to nothing because a dependency failed: record the failure (audit, warn log,
 * `selfheal_decision_failures_total`) and keep the incident in `deciding` with the time of the
 * next attempt, so it is decided again while its alert fires instead of being closed for good
 * (later deliveries of the same alert would then fold into a closed incident and be lost).
 * Resolves with `undefined` once the incident is older than `giveUpAfterMs`: the caller closes it
 * as escalated, as any failed decision.
 */
export async function retryDecision(
  context: RuntimeContext,
  incident: Incident,
  options: { readonly failures: readonly DependencyFailure[]; readonly events: readonly AuditEvent[] },
): Promise<Incident | undefined> {
  const now = context.now().getTime();
  const timing = context.decisionRetry;
  if (now - Date.parse(incident.openedAt) >= timing.giveUpAfterMs) return undefined;
  const attempt = (incident.decisionRetry?.attempt ?? 0) + 1;
  const base = Math.min(timing.maxDelayMs, timing.initialDelayMs * 2 ** (attempt - 1));
  // Jitter spreads the retries of a fleet-wide outage (every incident of a Prometheus that died).
  const delayMs = Math.round(base * (0.8 + Math.random() * 0.4));
  const at = new Date(now + delayMs).toISOString();
  const cause = options.failures.map((failure) => failure.cause).join("; ");
  for (const failure of options.failures) context.instruments.decisionFailed(failure.dependency);
  context.logger.warn(
    `incident ${incident.id}: decision failed (${cause}); deciding again in ${Math.round(delayMs / 1000)} s (attempt ${attempt})`,
    { incidentId: incident.id },
  );
  const retry = { attempt, at, cause };
  return commit(context, incident, (fresh) => ({
    incident: { ...fresh, decisionRetry: retry },
    events: [
      ...options.events,
      incidentEvent(
        context,
        fresh,
        "decision.failed",
        `decision failed: ${cause}; deciding again at ${at} (attempt ${attempt})`,
        {
          data: {
            failures: options.failures.map((failure) => ({ ...failure })),
            retry: { ...retry },
          },
        },
      ),
    ],
  }));
}
