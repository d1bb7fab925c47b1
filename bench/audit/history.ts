// A year of a busy fleet's audit trail, generated in time order: incidents with the event chains
// a controller writes for them (signals, decision, remediation, verification, close).
import type { AuditEvent, Incident, IncidentState } from "@selfheal/core";

/** One incident of the history: its stored document, its events and its action, if any. */
export interface IncidentHistory {
  readonly incident: Incident;
  readonly events: readonly AuditEvent[];
  readonly action?: {
    readonly idempotencyKey: string;
    readonly at: string;
    readonly outcome: "succeeded" | "failed";
  };
  readonly dedupKeys: readonly string[];
}

/** What to generate. */
export interface HistorySettings {
  readonly services: number;
  readonly events: number;
  readonly days: number;
  /** The end of the history (the newest incident opens shortly before it). */
  readonly end: Date;
  /** Incidents left open (state `deciding`) among the newest, for a controller to resume. */
  readonly open: number;
}

const alertnames = ["HighErrorRate", "HighLatency", "PodCrashLooping", "SaturationHigh"];
/** Events per incident on average over the outcome mix below (measured; sizes the spacing). */
const meanEventsPerIncident = 11.7;

/** A small seeded generator, so two runs load the same history. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The history, oldest incident first: `settings.events` events give the incident count (about). */
export function* fleetHistory(settings: HistorySettings): Generator<IncidentHistory> {
  const next = random(14);
  const spanMs = settings.days * 86_400_000;
  const incidents = Math.ceil(settings.events / meanEventsPerIncident);
  const stepMs = spanMs / incidents;
  const begin = settings.end.getTime() - spanMs - 3_600_000;
  for (let index = 0; index < incidents; index++) {
    const openedMs = begin + index * stepMs + next() * stepMs * 0.9;
    const service = `svc-${String(Math.floor(next() * settings.services)).padStart(3, "0")}`;
    const alertname = alertnames[Math.floor(next() * alertnames.length)] as string;
    const open = index >= incidents - settings.open;
    yield makeIncident(index, service, alertname, openedMs, open ? "open" : pick(next()), next);
  }
}

type Outcome = "resolved" | "failed" | "no_action" | "suppressed" | "open";

function pick(value: number): Outcome {
  if (value < 0.55) return "resolved";
  if (value < 0.65) return "failed";
  if (value < 0.85) return "no_action";
  return "suppressed";
}

function makeIncident(
  index: number,
  service: string,
  alertname: string,
  openedMs: number,
  outcome: Outcome,
  next: () => number,
): IncidentHistory {
  const id = `${service}-${alertname.toLowerCase()}-${index.toString(16).padStart(10, "0")}`;
  const iso = (offsetMs: number) => new Date(openedMs + offsetMs).toISOString();
  const events: AuditEvent[] = [];
  let seq = 0;
  const event = (
    type: AuditEvent["type"],
    offsetMs: number,
    message: string,
    extra: Partial<AuditEvent> = {},
  ) =>
    events.push({
      id: `${id}-e${seq++}`,
      at: iso(offsetMs),
      type,
      incidentId: id,
      service,
      actor: "controller-a",
      message,
      ...extra,
    });
  const signals = 1 + Math.floor(next() * 3);
  const fingerprint = `${index.toString(16).padStart(16, "0")}`;
  const dedupKeys: string[] = [];
  event("incident.opened", 0, `incident opened for ${service}/${alertname}`);
  for (let signal = 0; signal < signals; signal++) {
    dedupKeys.push(`${fingerprint}:${signal}`);
    event("signal.received", signal * 15_000, `firing ${alertname} for ${service}`, {
      data: { dedupKey: `${fingerprint}:${signal}`, status: "firing" },
    });
  }
  const acting = outcome === "resolved" || outcome === "failed";
  const decision = {
    action: acting || outcome === "suppressed" ? ("rollback" as const) : ("none" as const),
    params: {},
    reason: acting || outcome === "suppressed" ? "error rate 12% after release v1.4.2" : "no rule matched",
    escalate: false,
    policy: "opa",
    decidedAt: iso(500),
  };
  const idempotencyKey = `${id}/rollback`;
  let state: IncidentState = "deciding";
  let closeMs: number | undefined;
  if (outcome !== "open") {
    event("enrich.completed", 300, "enriched by prometheus, git");
    event("decision.made", 500, `decided ${decision.action}: ${decision.reason}`, { data: { decision } });
  }
  if (outcome === "suppressed") {
    event("guardrail.suppressed", 520, "suppressed: cooldown", {
      action: "rollback",
      data: { reason: "cooldown" },
    });
    state = "suppressed";
    closeMs = 520;
  } else if (outcome === "no_action") {
    state = "no_action";
    closeMs = 520;
  } else if (acting) {
    const remediation = { action: "rollback" as const, idempotencyKey };
    event("guardrail.passed", 520, "guardrails passed", { action: "rollback" });
    event("remediation.started", 600, "rollback started", remediation);
    event("remediation.completed", 3_000, "rollback committed as a1b2c3d", {
      ...remediation,
      data: { result: { status: "applied", commit: "a1b2c3d" } },
    });
    event("verification.started", 3_000, "waiting for argocd sync", { data: { stage: "sync" } });
    event("verification.passed", 40_000, "argocd synced and healthy");
    event("verification.started", 40_000, "checking recovery", { data: { stage: "recovery" } });
    if (outcome === "resolved") {
      event("verification.passed", 300_000, "error rate back under 1%");
      state = "resolved";
    } else {
      event("verification.failed", 300_000, "error rate still 9%", remediation);
      state = "escalated";
    }
    closeMs = 300_000;
  }
  if (closeMs !== undefined) {
    event("incident.closed", closeMs, `closed ${state}`, { data: { state } });
    event("notification.sent", closeMs + 200, "notified slack");
  }
  const incident: Incident = {
    id,
    key: `${service}/${alertname}`,
    service,
    alertname,
    state,
    revision: events.length,
    labels: { alertname, service, severity: "critical", namespace: "prod" },
    annotations: { summary: `${service} ${alertname}` },
    fingerprint,
    startsAt: iso(-60_000),
    firing: closeMs === undefined ? [fingerprint] : [],
    signalCount: signals,
    openedAt: iso(0),
    updatedAt: iso(closeMs ?? 0),
    ...(closeMs === undefined ? {} : { closedAt: iso(closeMs) }),
    ...(outcome === "open" ? {} : { decision }),
    ...(outcome === "suppressed"
      ? { suppression: { reason: "cooldown" as const, detail: "last action within the cooldown" } }
      : {}),
    verifications: [],
  };
  return {
    incident,
    events,
    dedupKeys,
    ...(acting
      ? { action: { idempotencyKey, at: iso(600), outcome: outcome === "resolved" ? "succeeded" : "failed" } }
      : {}),
  };
}
