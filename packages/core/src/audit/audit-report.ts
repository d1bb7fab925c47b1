import type { AuditEvent, Incident, IncidentState, Store } from "../spec/index.js";
import { auditChain, type ChainStep, chainTypes } from "./audit-chain.js";

/** What an incident came to, for people: its closed state, `failed` after a failed action, or `open`. */
export type AuditOutcome =
  | "resolved"
  | "failed"
  | "suppressed"
  | "escalated"
  | "cancelled"
  | "no_action"
  | "open";

/** Which incidents {@link auditReport} covers. All fields narrow; none means all. */
export interface AuditQuery {
  readonly service?: string;
  /** Only incidents opened at or after this time (RFC 3339). */
  readonly since?: string;
  /** Only incidents opened before this time (RFC 3339). */
  readonly until?: string;
  readonly outcome?: AuditOutcome;
}

/** One incident of the ledger. */
export interface AuditIncident {
  readonly id: string;
  readonly service: string;
  readonly alertname: string;
  readonly state: IncidentState;
  readonly outcome: AuditOutcome;
  readonly openedAt: string;
  readonly closedAt?: string;
  /** The action decided (`rollback`), or `none`. */
  readonly action?: string;
  /** Why it ended so, in words. */
  readonly reason?: string;
  /** Signal → decision → change → sync → verification, as far as it got. */
  readonly chain: readonly ChainStep[];
  /**
   * Time to recovery: from when the controller first received the alert (the incident opened)
   * to the verified fix. Only for resolved incidents. Measured from receipt, not from the
   * alert's `startsAt`: a replayed or late payload would otherwise count days the controller
   * never knew about.
   */
  readonly mttrMs?: number;
  /** How old the alert was when the controller first received it (`startsAt` → opened). */
  readonly alertAgeMs: number;
  /** The change request, when one was opened. */
  readonly changeRequest?: string;
  /**
   * The most alerts a sender left out of a notification of this incident (Alertmanager's
   * `truncatedAlerts`): it was decided on part of the group. Absent when none was left out.
   */
  readonly truncatedAlerts?: number;
}

/** The ledger of one service. */
export interface ServiceSummary {
  readonly service: string;
  readonly incidents: number;
  readonly resolved: number;
  readonly failed: number;
  /** resolved / (resolved + failed): incidents where an action was carried out. `undefined` when none was. */
  readonly successRate?: number;
  /** Median MTTR of resolved incidents. */
  readonly mttrP50Ms?: number;
}

/** An alert, or a whole delivery, the controller could not accept: a `signal.rejected` event. */
export interface AuditRejection {
  readonly at: string;
  /** The source that received it (`alertmanager`). */
  readonly source: string;
  /** `item`: one alert of a delivery whose others were accepted; `delivery`: the whole request. */
  readonly scope: "item" | "delivery";
  /** Why, in words. */
  readonly reason: string;
  /** JSON path of the problem, when there is one (`alerts[2].startsAt`). */
  readonly path?: string;
}

/** What {@link auditReport} returns. */
export interface AuditReport {
  /** Oldest first. */
  readonly incidents: readonly AuditIncident[];
  /** By service name. */
  readonly services: readonly ServiceSummary[];
  /**
   * What the intake refused in the time range, oldest first: no incident tells of these. Only
   * without a `service` or `outcome` filter (a rejected alert has neither).
   */
  readonly rejections: readonly AuditRejection[];
}

/** The outcome of an incident: `failed` means an action ran and did not fix the symptom. */
export function outcomeOf(incident: Incident): AuditOutcome {
  switch (incident.state) {
    case "resolved":
    case "suppressed":
    case "cancelled":
    case "no_action":
      return incident.state;
    case "escalated":
      // An escalation after an action was carried out is a failed remediation.
      return incident.result === undefined ? "escalated" : "failed";
    case "failed":
      return "failed";
    default:
      return "open";
  }
}

/**
 * The audit ledger of a store: each incident with its chain and outcome, and per service the
 * count, success rate and median MTTR. Reads only (`listIncidents`, then `listEvents` of the chain's
 * event types for up to 2,000 incidents at a time).
 */
export async function auditReport(store: Store, query: AuditQuery = {}): Promise<AuditReport> {
  const incidents = await store.listIncidents({
    ...(query.service === undefined ? {} : { service: query.service }),
    ...(query.since === undefined ? {} : { since: query.since }),
    ...(query.until === undefined ? {} : { until: query.until }),
  });
  const selected = incidents
    .filter((incident) => query.outcome === undefined || outcomeOf(incident) === query.outcome)
    .sort((a, b) => a.openedAt.localeCompare(b.openedAt));
  const rows: AuditIncident[] = [];
  // One read per batch of incidents, not one per incident: a month of a busy fleet is thousands
  // of incidents, and a round trip each made the ledger take seconds.
  for (let start = 0; start < selected.length; start += batchSize) {
    const batch = selected.slice(start, start + batchSize);
    const byIncident = new Map<string, AuditEvent[]>();
    // No event of an incident comes before it opened: reading from the batch's first opening
    // (less an hour of clock skew between replicas) lets a store skip the older history.
    const first = Date.parse((batch[0] as Incident).openedAt) - clockSkewMs;
    const events = await store.listEvents({
      incidentIds: batch.map((incident) => incident.id),
      types: chainTypes,
      ...(Number.isNaN(first) ? {} : { since: new Date(first).toISOString() }),
    });
    for (const event of events) {
      if (event.incidentId === undefined) continue;
      const list = byIncident.get(event.incidentId);
      if (list === undefined) byIncident.set(event.incidentId, [event]);
      else list.push(event);
    }
    for (const incident of batch) rows.push(auditIncident(incident, byIncident.get(incident.id) ?? []));
  }
  const rejections =
    query.service === undefined && query.outcome === undefined ? await rejectionsOf(store, query) : [];
  return { incidents: rows, services: summarize(rows), rejections };
}

async function rejectionsOf(store: Store, query: AuditQuery): Promise<AuditRejection[]> {
  const events = await store.listEvents({
    types: ["signal.rejected"],
    ...(query.since === undefined ? {} : { since: query.since }),
    ...(query.until === undefined ? {} : { until: query.until }),
  });
  return events.map((event) => {
    const data = event.data ?? {};
    const text = (value: unknown) => (typeof value === "string" ? value : undefined);
    const path = text(data.path);
    return {
      at: event.at,
      source: text(data.source) ?? "unknown",
      scope: data.scope === "delivery" ? "delivery" : "item",
      reason: text(data.reason) ?? event.message,
      ...(path === undefined ? {} : { path }),
    };
  });
}

/** Incidents whose events are read in one `listEvents` call: bounds the memory of one read. */
const batchSize = 2000;
/** How far the clocks of the controllers writing one incident's events may disagree. */
const clockSkewMs = 3_600_000;

function auditIncident(incident: Incident, events: readonly AuditEvent[]): AuditIncident {
  const outcome = outcomeOf(incident);
  const reason = incident.closeReason ?? incident.suppression?.detail ?? incident.decision?.reason;
  const recovered = outcome === "resolved" ? (incident.closedAt ?? lastAt(events)) : undefined;
  const mttrMs =
    recovered === undefined ? undefined : Math.max(0, Date.parse(recovered) - Date.parse(incident.openedAt));
  const alertAgeMs = Math.max(0, Date.parse(incident.openedAt) - Date.parse(incident.startsAt));
  return {
    id: incident.id,
    service: incident.service,
    alertname: incident.alertname,
    state: incident.state,
    outcome,
    openedAt: incident.openedAt,
    ...(incident.closedAt === undefined ? {} : { closedAt: incident.closedAt }),
    ...(incident.decision === undefined ? {} : { action: incident.decision.action }),
    ...(reason === undefined ? {} : { reason }),
    chain: auditChain(incident, events),
    ...(mttrMs === undefined ? {} : { mttrMs }),
    alertAgeMs,
    ...(incident.result?.changeRequest === undefined
      ? {}
      : { changeRequest: incident.result.changeRequest.url }),
    ...(incident.truncatedAlerts === undefined ? {} : { truncatedAlerts: incident.truncatedAlerts }),
  };
}

function lastAt(events: readonly AuditEvent[]): string | undefined {
  return events.at(-1)?.at;
}

function summarize(rows: readonly AuditIncident[]): ServiceSummary[] {
  const byService = new Map<string, AuditIncident[]>();
  for (const row of rows) byService.set(row.service, [...(byService.get(row.service) ?? []), row]);
  return [...byService.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, list]) => {
      const resolved = list.filter((row) => row.outcome === "resolved").length;
      const failed = list.filter((row) => row.outcome === "failed").length;
      const mttrs = list.flatMap((row) => (row.mttrMs === undefined ? [] : [row.mttrMs]));
      const p50 = median(mttrs);
      return {
        service,
        incidents: list.length,
        resolved,
        failed,
        ...(resolved + failed === 0 ? {} : { successRate: resolved / (resolved + failed) }),
        ...(p50 === undefined ? {} : { mttrP50Ms: p50 }),
      };
    });
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}
