import { describeError } from "../errors/selfheal-error.js";
import type { AuditEvent } from "../spec/audit-event.js";
import type { Decision } from "../spec/decision.js";
import type { Incident } from "../spec/incident.js";
import type { Signal } from "../spec/signal.js";
import type { IngestOutcome, Store } from "../spec/store.js";
import type { Logger } from "../util/logger.js";

/**
 * Time-boxed actions. A remediation may leave a follow-up (`followup.scheduled`: revert this
 * scale-up at 14:00). When it is due and the service has no open incident (the symptom is
 * gone), the controller feeds itself a signal that opens an incident of its own, with its own
 * audit trail, whose decision is the follow-up's action. The signal's dedup key is the
 * follow-up's, so it opens at most one incident whatever the number of replicas or restarts.
 */

/** Label marking an incident opened by a follow-up; its value is the originating incident. */
export const followUpLabel = "selfheal_followup_of";
/** Alert name of follow-up incidents. */
export const followUpAlertname = "SelfhealFollowUp";

/** How far back scheduled follow-ups are read at start: none is meant to wait longer. */
const lookBackMs = 30 * 86_400_000;
/** Later reads start this much before the previous one, for events written late (another replica). */
const overlapMs = 10 * 60_000;

/**
 * Checks due follow-ups; one per controller. The trail is read once for the last 30 days, then
 * only from the previous read on; follow-ups not opened yet are kept here until they are.
 */
export function createFollowUps(options: {
  readonly store: Store;
  readonly handle: (signals: readonly Signal[]) => Promise<IngestOutcome[]>;
  readonly incidentIdOf: (signal: Signal) => string;
  readonly now: () => Date;
  readonly logger: Logger;
}): { check(): Promise<number> } {
  const { store, now } = options;
  const pending = new Map<string, { readonly event: AuditEvent; readonly signal: Signal }>();
  const seen = new Set<string>();
  let readUntil: number | undefined;
  return {
    /** Open the due follow-ups; resolves with how many were opened. */
    async check() {
      const readAt = now().getTime();
      const since = new Date(
        readUntil === undefined ? readAt - lookBackMs : readUntil - overlapMs,
      ).toISOString();
      for (const event of await store.listEvents({ types: ["followup.scheduled"], since })) {
        if (seen.has(event.id)) continue;
        seen.add(event.id);
        const signal = followUpSignal(event);
        if (signal !== undefined) pending.set(event.id, { event, signal });
      }
      readUntil = readAt;
      let opened = 0;
      for (const [id, { event, signal }] of pending) {
        if (Date.parse(signal.startsAt) > now().getTime()) continue;
        // Opened already (here, or by another controller sharing the store).
        if ((await store.getIncident(options.incidentIdOf(signal))) !== undefined) {
          pending.delete(id);
          continue;
        }
        // The symptom is gone when the alerts of the originating incident have resolved and
        // nothing else is open for the service; otherwise wait for a later check.
        const origin = event.incidentId === undefined ? undefined : await store.getIncident(event.incidentId);
        if (origin !== undefined && origin.firing.length > 0) continue;
        const busy = await store.listIncidents({ open: true, service: signal.service });
        if (busy.length > 0) continue;
        try {
          const [outcome] = await options.handle([{ ...signal, receivedAt: now().toISOString() }]);
          if (outcome?.disposition === "opened") opened++;
          pending.delete(id);
        } catch (error) {
          options.logger.warn("could not open a follow-up", { event: event.id, error: describeError(error) });
        }
      }
      return opened;
    },
  };
}

/** The signal that opens the follow-up of a `followup.scheduled` event (undefined if malformed). */
function followUpSignal(event: AuditEvent): Signal | undefined {
  const data = event.data;
  const at = data?.at;
  const action = data?.action;
  const reason = data?.reason;
  if (event.incidentId === undefined || event.service === undefined) return undefined;
  if (typeof at !== "string" || typeof action !== "string" || typeof reason !== "string") return undefined;
  const key = `followup:${event.incidentId}:${action}`;
  return {
    source: "selfheal",
    dedupKey: key,
    status: "firing",
    alertname: followUpAlertname,
    service: event.service,
    labels: { alertname: followUpAlertname, service: event.service, [followUpLabel]: event.incidentId },
    annotations: {
      summary: reason,
      selfheal_action: action,
      selfheal_params: JSON.stringify(data?.params ?? {}),
    },
    fingerprint: key,
    startsAt: at,
    receivedAt: at,
  };
}

/** The decision of a follow-up incident, or `undefined` for any other incident. */
export function followUpDecision(incident: Incident): Decision | undefined {
  const origin = incident.labels[followUpLabel];
  const action = incident.annotations.selfheal_action;
  if (origin === undefined || action === undefined) return undefined;
  let params: Decision["params"] = {};
  try {
    const parsed: unknown = JSON.parse(incident.annotations.selfheal_params ?? "{}");
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
      params = parsed as Decision["params"];
  } catch {
    return {
      action: "none",
      params: {},
      reason: `follow-up of ${origin} has unreadable params`,
      escalate: true,
    };
  }
  return {
    action,
    params,
    reason: `follow-up of ${origin}: ${incident.annotations.summary ?? action}`,
    escalate: false,
  };
}
