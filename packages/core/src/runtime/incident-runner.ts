import { SelfHealError } from "../errors/selfheal-error.js";
import type { AuditEvent } from "../spec/audit-event.js";
import { closedStates, type Incident } from "../spec/incident.js";
import { afterPendingIo } from "../util/async.js";
import { act, awaitMerge } from "./act-stage.js";
import { incidentEvent, type RuntimeContext } from "./context.js";
import { cancelResolved, decide } from "./decide-stage.js";
import { close, commit, moveTo } from "./transitions.js";
import { verifyStage } from "./verify-stage.js";

/**
 * Drive one incident through its state machine until it closes, the controller stops, or it
 * must wait. Every step reads the persisted state and writes its outcome before the next
 * begins, so a restarted controller resumes each incident where the store says it is.
 */
export async function runIncident(context: RuntimeContext, incidentId: string): Promise<"done" | "held"> {
  const { store } = context;
  if (store.claim === undefined) {
    await drive(context, incidentId);
    return "done";
  }
  // A store shared by several controllers: work on the incident only while holding its claim,
  // renewed in the background; every write is fenced by it, so once another instance takes
  // the incident over (this one stalled past the claim's expiry), this one can record nothing.
  const resource = `incident:${incidentId}`;
  const claim = await store.claim(resource, context.actor, context.claimTtlMs);
  if (claim === undefined) return "held";
  context.claims.set(incidentId, claim);
  const renew = setInterval(
    () => {
      void store
        .claim?.(resource, context.actor, context.claimTtlMs)
        .then((renewed) => {
          if (renewed?.token === claim.token) context.claims.set(incidentId, renewed);
        })
        .catch((error: unknown) => context.logger.warn("could not renew a claim", { incidentId, error }));
    },
    Math.max(50, Math.floor(context.claimTtlMs / 3)),
  );
  renew.unref();
  try {
    await drive(context, incidentId);
    return "done";
  } catch (error) {
    if (isFenced(error)) {
      context.logger.warn(`incident ${incidentId} was taken over by another controller`, { incidentId });
      return "held";
    }
    throw error;
  } finally {
    clearInterval(renew);
    context.claims.delete(incidentId);
    await store.releaseClaim?.(claim).catch(() => undefined);
  }
}

async function drive(context: RuntimeContext, incidentId: string): Promise<void> {
  let incident = await context.store.getIncident(incidentId);
  while (incident !== undefined && !closedStates.has(incident.state) && !context.stopping.aborted) {
    // Acknowledgements first: a step resumes when its write is durable, in the same turn as
    // the deliveries that shared that write; waiting for the next I/O poll lets the requests
    // that arrived meanwhile be read and recorded before the step's own work (a storm's
    // decisions otherwise hold every delivery behind them).
    await afterPendingIo();
    incident = await step(context, incident);
  }
}

function isFenced(error: unknown): boolean {
  return SelfHealError.isInstance(error) && error.name === "StoreFencedError";
}

async function step(context: RuntimeContext, incident: Incident): Promise<Incident | undefined> {
  switch (incident.state) {
    case "received":
      if (incident.resolvedAt !== undefined) return cancelResolved(context, incident);
      return commit(context, incident, moveTo(context, "deciding"));
    case "deciding":
      return context.decisions.run(() =>
        stageSpan(context, "decide", incident, () => decide(context, incident)),
      );
    case "acting":
      return stageSpan(context, "remediate", incident, () => act(context, incident));
    case "awaiting_merge":
      return awaitMerge(context, incident);
    case "syncing":
    case "verifying":
      return stageSpan(context, incident.state === "syncing" ? "sync" : "verify", incident, () =>
        verifyStage(context, incident),
      );
    case "failed":
      return escalateFailure(context, incident);
    default:
      return undefined;
  }
}

/** A stage of `incident` in a span of its own, in the incident's trace. */
function stageSpan<T>(
  context: RuntimeContext,
  stage: string,
  incident: Incident,
  fn: () => Promise<T>,
): Promise<T> {
  const attributes = {
    "selfheal.incident": incident.id,
    "selfheal.service": incident.service,
    "selfheal.alertname": incident.alertname,
  };
  return context.instruments.span(stage, attributes, fn, incident.id);
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
