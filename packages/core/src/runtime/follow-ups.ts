import { describeError } from "../errors/selfheal-error.js";
import type { AuditEvent } from "../spec/audit-event.js";
import type { Decision } from "../spec/decision.js";
import type { FollowUpOrder, Incident } from "../spec/incident.js";
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

/** A follow-up read from the trail: the signal that opens it and the order it carries out. */
interface DueFollowUp {
  readonly event: AuditEvent;
  readonly signal: Signal;
  readonly order: FollowUpOrder;
}

/**
 * Checks due follow-ups; one per controller. The trail is read once for the last 30 days, then
 * only from the previous read on; follow-ups not opened yet are kept here until they are.
 *
 * `ingest` records a follow-up's signal with its order: the order comes from the controller's
 * own `followup.scheduled` event, never from a signal, so an alert dressed up as a follow-up
 * (its labels or annotations) is an ordinary alert and goes to the policy.
 */
export function createFollowUps(options: {
  readonly store: Store;
  readonly ingest: (signal: Signal, order: FollowUpOrder) => Promise<IngestOutcome | undefined>;
  /**
   * The ids the follow-up's incident has or may have had: controllers up to 0.1 keyed it by
   * `incidentKey`, and one opened that way must not be opened again.
   */
  readonly incidentIdsOf: (signal: Signal) => readonly string[];
  readonly now: () => Date;
  readonly logger: Logger;
}): { check(): Promise<number> } {
  const { store, now } = options;
  const pending = new Map<string, DueFollowUp>();
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
        const due = dueFollowUp(event);
        if (due === undefined) {
          options.logger.warn("a followup.scheduled event is unreadable; its follow-up is not opened", {
            event: event.id,
            incident: event.incidentId,
          });
          continue;
        }
        pending.set(event.id, due);
      }
      readUntil = readAt;
      let opened = 0;
      for (const [id, { event, signal, order }] of pending) {
        if (Date.parse(signal.startsAt) > now().getTime()) continue;
        // Opened already (here, or by another controller sharing the store).
        if (await openedAlready(store, options.incidentIdsOf(signal))) {
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
          const outcome = await options.ingest({ ...signal, receivedAt: now().toISOString() }, order);
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

async function openedAlready(store: Store, ids: readonly string[]): Promise<boolean> {
  for (const id of ids) if ((await store.getIncident(id)) !== undefined) return true;
  return false;
}

/** The follow-up of a `followup.scheduled` event (undefined if malformed). */
function dueFollowUp(event: AuditEvent): DueFollowUp | undefined {
  const data = event.data;
  const at = data?.at;
  const action = data?.action;
  const reason = data?.reason;
  const params = data?.params ?? {};
  if (event.incidentId === undefined || event.service === undefined) return undefined;
  if (typeof at !== "string" || typeof action !== "string" || typeof reason !== "string") return undefined;
  if (typeof params !== "object" || params === null || Array.isArray(params)) return undefined;
  const key = `followup:${event.incidentId}:${action}`;
  const signal: Signal = {
    source: "selfheal",
    dedupKey: key,
    status: "firing",
    alertname: followUpAlertname,
    service: event.service,
    // Labels for people and queries only: nothing reads them to decide.
    labels: { alertname: followUpAlertname, service: event.service, [followUpLabel]: event.incidentId },
    annotations: { summary: reason },
    fingerprint: key,
    startsAt: at,
    receivedAt: at,
  };
  return { event, signal, order: { of: event.incidentId, event: event.id, action, params, reason } };
}

/**
 * The decision of a follow-up incident (one the controller opened itself, carrying its order),
 * or `undefined` for any other incident, whatever its labels say.
 */
export function followUpDecision(incident: Incident): Decision | undefined {
  const order = incident.followUp;
  if (order === undefined) return undefined;
  return {
    action: order.action,
    params: order.params,
    reason: `follow-up of ${order.of}: ${order.reason}`,
    escalate: false,
  };
}
