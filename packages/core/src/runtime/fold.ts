import type { AuditEvent } from "../spec/audit-event.js";
import type { Incident } from "../spec/incident.js";
import type { Signal } from "../spec/signal.js";
import type { IngestEntry, IngestOutcome } from "../spec/store.js";
import { incidentTraceId } from "../telemetry/incident-trace.js";
import { eventId } from "./ids.js";

/** What recording one signal changes: the incident as it is afterwards, and the events to append. */
export interface FoldResult {
  readonly disposition: Exclude<IngestOutcome["disposition"], "duplicate">;
  readonly incident?: Incident;
  readonly events: AuditEvent[];
}

/**
 * Whether a signal belongs to an incident of its key: always while the incident is open; after
 * it closed, only if the alert was already firing before it closed (the same episode: another
 * pod of the same outage). An alert that starts after the close is a new episode and opens a
 * new incident. Every store uses this rule.
 */
export function belongsTo(incident: Incident, signal: Signal): boolean {
  if (incident.closedAt === undefined) return true;
  return Date.parse(signal.startsAt) <= Date.parse(incident.closedAt);
}

/**
 * Fold a new (not duplicate) signal into the incident of its key it belongs to, or open one. Pure:
 * every store calls it inside its own atomic write, so all stores fold alike.
 *
 * A firing signal adds its fingerprint to the incident's firing set; a resolved one removes
 * it, and when none is left the incident is marked resolved (an action not yet started is
 * then cancelled by the controller). `truncatedAlerts` of the incident is the largest of its
 * signals' (alerts the sender left out of a notification).
 */
export function foldSignal(open: Incident | undefined, entry: IngestEntry, now: Date): FoldResult {
  const { signal, actor } = entry;
  const at = now.toISOString();
  // 0 and absent both mean nothing was left out; only a count above 0 is recorded.
  const truncated =
    signal.truncatedAlerts !== undefined && signal.truncatedAlerts > 0 ? signal.truncatedAlerts : undefined;
  const received = (incidentId: string | undefined): AuditEvent => ({
    id: eventId(),
    at,
    type: "signal.received",
    ...(incidentId === undefined ? {} : { incidentId }),
    service: signal.service,
    actor,
    message: `${signal.status} ${signal.alertname} for ${signal.service} from ${signal.source}`,
    data: {
      dedupKey: signal.dedupKey,
      status: signal.status,
      fingerprint: signal.fingerprint,
      startsAt: signal.startsAt,
      ...(signal.groupKey === undefined ? {} : { groupKey: signal.groupKey }),
      ...(truncated === undefined ? {} : { truncatedAlerts: truncated }),
    },
  });

  if (open === undefined) {
    if (signal.status === "resolved") return { disposition: "unmatched", events: [received(undefined)] };
    const incident: Incident = {
      id: entry.newIncidentId,
      key: entry.key,
      service: signal.service,
      alertname: signal.alertname,
      state: "received",
      revision: 1,
      source: signal.source,
      labels: signal.labels,
      annotations: signal.annotations,
      fingerprint: signal.fingerprint,
      startsAt: signal.startsAt,
      ...(signal.generatorUrl === undefined ? {} : { generatorUrl: signal.generatorUrl }),
      ...(truncated === undefined ? {} : { truncatedAlerts: truncated }),
      firing: [signal.fingerprint],
      signalCount: 1,
      openedAt: at,
      updatedAt: at,
      verifications: [],
      ...(entry.followUp === undefined ? {} : { followUp: entry.followUp }),
    };
    const opened: AuditEvent = {
      id: eventId(),
      at,
      type: "incident.opened",
      incidentId: incident.id,
      service: incident.service,
      actor,
      message: `incident opened: ${signal.alertname} on ${signal.service}`,
      data: {
        key: entry.key,
        traceId: incidentTraceId(incident.id),
        labels: signal.labels,
        annotations: signal.annotations,
        ...(entry.followUp === undefined ? {} : { followUp: entry.followUp }),
        ...(truncated === undefined ? {} : { truncatedAlerts: truncated }),
      },
    };
    return { disposition: "opened", incident, events: [received(incident.id), opened] };
  }

  const firing = new Set(open.firing);
  if (signal.status === "firing") firing.add(signal.fingerprint);
  else firing.delete(signal.fingerprint);
  const incident: Incident = {
    ...open,
    revision: open.revision + 1,
    firing: [...firing],
    signalCount: open.signalCount + 1,
    updatedAt: at,
  };
  // The most any notification left out: the policy and the people reading need the worst case.
  if (truncated !== undefined && truncated > (open.truncatedAlerts ?? 0))
    incident.truncatedAlerts = truncated;
  if (firing.size === 0) incident.resolvedAt = open.resolvedAt ?? at;
  else delete incident.resolvedAt;
  return { disposition: "folded", incident, events: [received(open.id)] };
}
