import { describeError, SelfHealError } from "../errors/selfheal-error.js";
import type { JsonObject } from "../spec/common.js";
import { DecisionInput, type HistoryEntry } from "../spec/decision.js";
import type { Enricher, Enrichment } from "../spec/enricher.js";
import type { Incident } from "../spec/incident.js";
import type { SignalSource } from "../spec/signal-source.js";
import type { Store } from "../spec/store.js";
import { withTimeout } from "../util/async.js";

/** How one enricher's run went. `failures` are its dependencies' failures (or its own throw). */
export interface EnricherRun {
  readonly enricher: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly warnings: readonly string[];
  readonly failures: readonly string[];
  /** Why values it reads are unknown, by name (its `unknown`). */
  readonly unknown?: Readonly<Record<string, string>>;
}

/** What enriching an incident found, and what went wrong on the way. */
export interface EnrichedInput {
  readonly input: DecisionInput;
  /** Set when an enricher found that the alert's condition no longer holds. */
  readonly stale?: { readonly enricher: string; readonly reason: string };
  /** One entry per enricher run, for the audit trail. */
  readonly runs: readonly EnricherRun[];
}

/** The input before any enricher ran: the alert, the incident, the history and the time. */
export async function baseDecisionInput(options: {
  readonly incident: Incident;
  readonly store: Store;
  readonly now: Date;
  readonly historyWindowMs: number;
  readonly maxReplicas: number | undefined;
}): Promise<DecisionInput> {
  const { incident, now } = options;
  const since = new Date(now.getTime() - options.historyWindowMs).toISOString();
  const history: HistoryEntry[] = (await options.store.listActions({ service: incident.service, since }))
    .filter((action) => action.incidentId !== incident.id)
    .map((action) => ({
      incident_id: action.incidentId,
      action: action.action,
      at: action.at,
      outcome: action.outcome,
    }));
  const quarantined = await quarantinedVersions(options.store, incident.service, now);
  return {
    alert: {
      labels: incident.labels,
      annotations: incident.annotations,
      status: incident.firing.length > 0 ? "firing" : "resolved",
      starts_at: incident.startsAt,
      fingerprint: incident.fingerprint,
      ...(incident.truncatedAlerts === undefined ? {} : { truncated_alerts: incident.truncatedAlerts }),
    },
    service: incident.service,
    incident: {
      id: incident.id,
      key: incident.key,
      alertname: incident.alertname,
      opened_at: incident.openedAt,
      signal_count: incident.signalCount,
    },
    metrics: {},
    ...(options.maxReplicas === undefined ? {} : { max_replicas: options.maxReplicas }),
    ...(quarantined.length === 0 ? {} : { deployment: { quarantined } }),
    history,
    now: now.toISOString(),
  };
}

/** How far back quarantine records are read: no quarantine is meant to last longer. */
const quarantineLookBackMs = 30 * 86_400_000;

/** Versions of `service` quarantined by earlier remediations and not expired at `now`. */
export async function quarantinedVersions(store: Store, service: string, now: Date): Promise<string[]> {
  const since = new Date(now.getTime() - quarantineLookBackMs).toISOString();
  const events = await store.listEvents({ service, types: ["quarantine.added"], since });
  const versions = new Set<string>();
  for (const event of events) {
    const version = event.data?.version;
    const until = event.data?.until;
    if (typeof version === "string" && typeof until === "string" && Date.parse(until) > now.getTime()) {
      versions.add(version);
    }
  }
  return [...versions].sort();
}

/**
 * Run the enrichers one after another, each with its own time limit, merging what each finds.
 * An enricher that throws or times out is recorded and skipped. What they return is checked
 * against the `DecisionInput` schema before it reaches a policy.
 */
export async function enrich(options: {
  readonly incident: Incident;
  readonly base: DecisionInput;
  readonly enrichers: readonly Enricher[];
  readonly signal: AbortSignal;
}): Promise<EnrichedInput> {
  let input = options.base;
  const runs: EnricherRun[] = [];
  for (const enricher of options.enrichers) {
    const timeoutMs = enricher.timeoutMs ?? 5000;
    let found: Enrichment;
    try {
      found = await withTimeout(
        `enricher ${enricher.name}`,
        timeoutMs,
        (signal) => enricher.enrich({ incident: options.incident, input, signal }),
        options.signal,
      );
    } catch (error) {
      // A thrown bug (a plain error, a bad setting) is not an outage worth deciding again for.
      const detail = describeError(error);
      const outage = SelfHealError.isInstance(error) && error.retryable;
      runs.push({
        enricher: enricher.name,
        ok: false,
        detail,
        warnings: [],
        failures: outage ? [detail] : [],
      });
      continue;
    }
    const merged = DecisionInput.safeParse(merge(input, enricher.name, found));
    if (!merged.success) {
      const issue = merged.error.issues[0];
      const where = issue === undefined ? "" : ` at ${issue.path.join(".")}: ${issue.message}`;
      runs.push({
        enricher: enricher.name,
        ok: false,
        detail: `returned facts that do not fit the input${where}`,
        warnings: [],
        failures: [],
      });
      continue;
    }
    input = merged.data;
    const failures = found.failures ?? [];
    runs.push({
      enricher: enricher.name,
      ok: failures.length === 0,
      detail: failures.length === 0 ? "ok" : failures.join("; "),
      warnings: found.warnings ?? [],
      failures,
      ...(found.unknown === undefined ? {} : { unknown: found.unknown }),
    });
    if (found.stale !== undefined)
      return { input, stale: { enricher: enricher.name, reason: found.stale.reason }, runs };
  }
  return { input, runs };
}

function merge(input: DecisionInput, name: string, found: Enrichment): unknown {
  const out: Record<string, unknown> = { ...input };
  if (found.metrics !== undefined) out.metrics = { ...input.metrics, ...found.metrics };
  if (found.deployment !== undefined) {
    // Quarantine is a union: an enricher (the config repo's record) adds to the store's, never hides it.
    const quarantined = [
      ...new Set([...(input.deployment?.quarantined ?? []), ...(found.deployment.quarantined ?? [])]),
    ];
    out.deployment = {
      ...input.deployment,
      ...found.deployment,
      ...(quarantined.length === 0 ? {} : { quarantined }),
    };
  }
  if (found.current_replicas !== undefined) out.current_replicas = found.current_replicas;
  // A cap only ever lowers: the configured cap (in the base input) and an HPA's maxReplicas
  // both bound a scale-up, so the lowest wins whichever enricher reports it.
  if (found.max_replicas !== undefined)
    out.max_replicas =
      input.max_replicas === undefined
        ? found.max_replicas
        : Math.min(input.max_replicas, found.max_replicas);
  if (found.facts !== undefined) out.facts = { ...input.facts, [name]: found.facts } satisfies JsonObject;
  return out;
}

/**
 * `reason` with the causes enrichers gave for the unknown values it names: an escalation that says
 * "metrics unknown: restart_count" also says why (`the query needs labels.namespace, …`).
 */
export function explainUnknowns(reason: string, runs: readonly EnricherRun[]): string {
  const causes: string[] = [];
  for (const run of runs) {
    for (const [name, cause] of Object.entries(run.unknown ?? {})) {
      if (new RegExp(`\\b${name.replace(/[^A-Za-z0-9_]/g, "")}\\b`).test(reason))
        causes.push(`${name}: ${cause}`);
    }
  }
  return causes.length === 0 ? reason : `${reason} (${causes.join("; ")})`;
}

/** The part of the decision input a source may give (`SignalSource.decisionInput`). */
const sourceFacts = DecisionInput.pick({ argocd: true });

/**
 * What the source that opened an incident adds to its decision input: its `decisionInput`, only
 * for incidents whose recorded `source` is its name, and only what fits the input's schema (a
 * source that answers something else, or throws, adds nothing).
 */
export function sourceDecisionInput(
  sources: readonly SignalSource[],
): (incident: Incident) => Pick<DecisionInput, "argocd"> {
  const byName = new Map(sources.map((source) => [source.name, source]));
  return (incident) => {
    const source = incident.source === undefined ? undefined : byName.get(incident.source);
    if (source?.decisionInput === undefined) return {};
    try {
      const checked = sourceFacts.safeParse(source.decisionInput(incident));
      return checked.success ? checked.data : {};
    } catch {
      return {};
    }
  };
}
