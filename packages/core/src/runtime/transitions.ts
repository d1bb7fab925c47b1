import { SelfHealError, StoreConflictError } from "../errors/selfheal-error.js";
import type { AuditEvent } from "../spec/audit-event.js";
import type { Incident, IncidentState, SuppressionReason } from "../spec/incident.js";
import type { Notification } from "../spec/notifier.js";
import type { Claim } from "../spec/store.js";
import { incidentEvent, type RuntimeContext } from "./context.js";
import { afterClose } from "./hooks.js";

/** A change to an incident, worked out from its freshest copy, with the events that record it. */
export type Change = (fresh: Incident) => {
  readonly incident: Incident;
  readonly events: readonly AuditEvent[];
};

function isConflict(error: unknown): boolean {
  return (
    error instanceof StoreConflictError ||
    (SelfHealError.isInstance(error) && error.name === "StoreConflictError")
  );
}

/** The stage each event that ends one is logged under: one info line per stage, once recorded. */
const stageOf: Partial<Record<AuditEvent["type"], string>> = {
  "decision.made": "decision",
  "decision.failed": "decision",
  "remediation.planned": "plan",
  "remediation.started": "act",
  "remediation.completed": "change",
  "remediation.failed": "change",
  "merge.completed": "merge",
  "verification.passed": "verification",
  "verification.failed": "verification",
};

/**
 * One info line per stage the written events record (the decision, the change with its commit,
 * push and change request, the merge, each verification such as Argo CD's sync),
 * each naming the incident: logged after the write, so a log line never tells of something
 * the audit trail does not hold.
 */
function logStages(context: RuntimeContext, incidentId: string, events: readonly AuditEvent[]): void {
  for (const event of events) {
    const stage = stageOf[event.type];
    if (stage === undefined) continue;
    context.logger.info(`incident ${incidentId} ${stage}: ${event.message}`, {
      incidentId,
      stage,
      event: event.type,
      ...(event.action === undefined ? {} : { action: event.action }),
    });
  }
}

/**
 * Write a change with compare-and-set. When the incident changed meanwhile (a signal folded in),
 * the change is worked out again from the fresh copy, so a resolved signal that arrived during
 * a decision is seen before any side effect. If the incident moved to another state, nothing
 * is written and the fresh copy is returned: the runner continues from there.
 */
export async function commit(context: RuntimeContext, current: Incident, change: Change): Promise<Incident> {
  let base = current;
  for (let attempt = 0; ; attempt++) {
    const { incident, events } = change(base);
    try {
      const written = await context.store.updateIncident(
        { ...incident, updatedAt: context.now().toISOString() },
        {
          expectedRevision: base.revision,
          events,
          ...fenceOf(context, base.id),
        },
      );
      logStages(context, written.id, events);
      return written;
    } catch (error) {
      if (!isConflict(error) || attempt >= 20) throw error;
      const fresh = await context.store.getIncident(base.id);
      if (fresh === undefined) throw error;
      if (fresh.state !== base.state) return fresh;
      base = fresh;
    }
  }
}

function fenceOf(context: RuntimeContext, incidentId: string): { fence?: Claim } {
  const claim = context.claims.get(incidentId);
  return claim === undefined ? {} : { fence: claim };
}

/** Move an open incident to another open state. */
export function moveTo(
  context: RuntimeContext,
  state: IncidentState,
  extra: Partial<Incident> = {},
  events: readonly AuditEvent[] = [],
): Change {
  return (fresh) => ({
    incident: { ...fresh, ...extra, state },
    events: [
      ...events,
      incidentEvent(context, fresh, "incident.state", `${fresh.state} → ${state}`, {
        data: { from: fresh.state, to: state },
      }),
    ],
  });
}

/** How an incident closes. */
export interface Closing {
  readonly state: "resolved" | "suppressed" | "escalated" | "cancelled" | "no_action";
  readonly reason: string;
  readonly suppression?: { readonly reason: SuppressionReason; readonly detail: string };
  readonly extra?: Partial<Incident>;
  readonly events?: readonly AuditEvent[];
}

/** Close an incident: its final state, why, and the metrics and notification that go with it. */
export async function close(context: RuntimeContext, current: Incident, closing: Closing): Promise<Incident> {
  const closed = await commit(context, current, (fresh) => {
    const at = context.now().toISOString();
    const incident: Incident = {
      ...fresh,
      ...closing.extra,
      state: closing.state,
      closedAt: at,
      closeReason: closing.reason,
    };
    if (closing.suppression !== undefined) incident.suppression = closing.suppression;
    const plan = incident.plan;
    const keyFields = plan === undefined ? {} : { action: plan.action, idempotencyKey: plan.idempotencyKey };
    return {
      incident,
      events: [
        ...(closing.events ?? []),
        incidentEvent(context, fresh, "incident.closed", `${closing.state}: ${closing.reason}`, {
          ...keyFields,
          data: { state: closing.state, from: fresh.state, reason: closing.reason },
        }),
      ],
    };
  });
  if (closed.state !== closing.state) return closed;
  observeClosed(context, closed, closing);
  await afterClose(context, closed);
  return closed;
}

function observeClosed(context: RuntimeContext, incident: Incident, closing: Closing): void {
  const { instruments } = context;
  const mttrSeconds =
    incident.state === "resolved" && incident.closedAt !== undefined
      ? // From when the controller first received the alert, as the audit report measures it.
        (Date.parse(incident.closedAt) - Date.parse(incident.openedAt)) / 1000
      : undefined;
  instruments.incidentClosed(incident.state, mttrSeconds);
  instruments.incidentTrace(incident);
  if (closing.suppression !== undefined) instruments.suppressed(closing.suppression.reason);
  // An action counts once it was recorded as started: it then either worked or failed.
  const action = incident.plan?.action;
  if (action !== undefined) {
    if (incident.state === "resolved") instruments.actionFinished(action, "succeeded");
    else if (closing.suppression?.reason === "dry_run") instruments.actionFinished(action, "dry_run");
    else if (incident.state === "escalated") instruments.actionFinished(action, "failed");
  }
  context.logger.info(`incident ${incident.id} ${incident.state}`, {
    incidentId: incident.id,
    service: incident.service,
    state: incident.state,
    reason: closing.reason,
    ...(mttrSeconds === undefined ? {} : { mttrSeconds }),
  });
  const kind = notificationKind(incident.state);
  if (kind !== undefined) {
    context.notify({
      kind,
      incident,
      title: `${incident.alertname} on ${incident.service}: ${incident.state}`,
      text: closing.reason,
      ...(incident.result?.changeRequest === undefined
        ? {}
        : { links: [{ label: "change request", url: incident.result.changeRequest.url }] }),
    });
  }
}

function notificationKind(state: IncidentState): Notification["kind"] | undefined {
  switch (state) {
    case "resolved":
      return "resolved";
    case "escalated":
      return "escalated";
    case "suppressed":
      return "suppressed";
    default:
      return undefined;
  }
}
