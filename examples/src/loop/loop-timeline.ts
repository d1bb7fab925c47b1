import type { AuditEvent, Enricher, Incident, Policy, Store } from "@selfheal/core";

/** Time spent waiting for one dependency call (Prometheus query, policy, Argo CD refresh). */
export interface DependencyWait {
  /** `enrich:<name>`, `policy:<name>` or the name given to `time`. */
  readonly name: string;
  /** Epoch milliseconds. */
  readonly start: number;
  /** Epoch milliseconds. */
  readonly end: number;
}

/** Records how long the controller waited on the dependencies it calls during a decision. */
export interface DependencyClock {
  /** Every timed call, in the order they ended. */
  readonly waits: readonly DependencyWait[];
  /** The enricher, timed. */
  enricher(inner: Enricher): Enricher;
  /** The policy, timed. */
  policy(inner: Policy): Policy;
  /** `call`, timed under `name`. */
  time<T>(name: string, call: () => Promise<T>): Promise<T>;
}

/** A fresh clock; every loop has its own. */
export function dependencyClock(): DependencyClock {
  const waits: DependencyWait[] = [];
  const time = async <T>(name: string, call: () => Promise<T>): Promise<T> => {
    const start = Date.now();
    try {
      return await call();
    } finally {
      waits.push({ name, start, end: Date.now() });
    }
  };
  return {
    waits,
    time,
    enricher: (inner) => ({
      name: inner.name,
      ...(inner.timeoutMs === undefined ? {} : { timeoutMs: inner.timeoutMs }),
      enrich: (options) => time(`enrich:${inner.name}`, () => inner.enrich(options)),
    }),
    policy: (inner) => ({
      name: inner.name,
      decide: (input, options) => time(`policy:${inner.name}`, async () => inner.decide(input, options)),
      ...(inner.ready === undefined ? {} : { ready: inner.ready.bind(inner) }),
    }),
  };
}

/** One stage of the incident as the audit trail records it. */
export interface TimelineStage {
  /** `fault`, `alert`, `decision`, `suppressed`, `change`, `merge`, `sync`, `verified`, `verification failed`, `circuit opened`, `closed`. */
  readonly stage: string;
  /** When it was recorded. */
  readonly at: Date;
  /** What happened, from the audit event's message. */
  readonly detail: string;
  /** The audit event it comes from (`fault` has none). */
  readonly event?: AuditEvent;
}

/** Stage durations in seconds; a stage that did not happen is absent. */
export interface StageDurations {
  /** Fault live → first signal recorded. */
  readonly detect_s?: number;
  /** Signal recorded → decision made (enrichment and policy included). */
  readonly decide_s?: number;
  /** Decision → change on the target branch (plan, commit, push; change request merged). */
  readonly remediate_s?: number;
  /** Change landed → Argo CD sync verified. */
  readonly sync_s?: number;
  /** Sync verified → incident closed (recovery held). */
  readonly verify_s?: number;
}

/** The incident's timeline, derived from the audit trail and the fault's time. */
export interface IncidentTimeline {
  /** The incident as stored now. */
  readonly incident: Incident;
  /** When the bad version went live. */
  readonly faultAt: Date;
  /** The stages that happened, in time order, `fault` first. */
  readonly stages: readonly TimelineStage[];
  readonly durations: StageDurations;
  /** Fault → incident closed, in seconds; absent while open. */
  readonly mttr_s?: number;
  /** The incident's whole audit trail. */
  readonly events: readonly AuditEvent[];
}

const seconds = (from: Date | undefined, to: Date | undefined) =>
  from === undefined || to === undefined ? undefined : (to.getTime() - from.getTime()) / 1000;

/**
 * Derive the stage times of `incidentId` from the audit trail: signal.received, decision.made
 * (or decision.failed), remediation.completed, merge.completed, verification.passed/failed by
 * stage, circuit.opened and incident.closed, with `faultAt` (when the bad version went live).
 */
export async function timeline(store: Store, incidentId: string, faultAt: Date): Promise<IncidentTimeline> {
  const incident = await store.getIncident(incidentId);
  if (incident === undefined) throw new Error(`no incident ${incidentId} in the store`);
  const events = await store.listEvents({ incidentId });
  const first = (type: AuditEvent["type"], where: (event: AuditEvent) => boolean = () => true) =>
    events.find((event) => event.type === type && where(event));
  const stageOf = (event: AuditEvent) => {
    const data = event.data as { verdict?: { verifier?: unknown } } | undefined;
    return data?.verdict?.verifier === "argocd-sync" ? "sync" : "recovery";
  };
  const found: [string, AuditEvent | undefined][] = [
    ["alert", first("signal.received")],
    ["decision", first("decision.made") ?? first("decision.failed")],
    ["suppressed", first("guardrail.suppressed")],
    ["change", first("remediation.completed")],
    ["merge", first("merge.completed")],
    ["sync", first("verification.passed", (event) => stageOf(event) === "sync")],
    ["verified", first("verification.passed", (event) => stageOf(event) === "recovery")],
    ["verification failed", first("verification.failed")],
    ["circuit opened", first("circuit.opened")],
    ["closed", first("incident.closed")],
  ];
  const stages: TimelineStage[] = [{ stage: "fault", at: faultAt, detail: "bad release live" }];
  for (const [stage, event] of found) {
    if (event !== undefined) stages.push({ stage, at: new Date(event.at), detail: event.message, event });
  }
  stages.sort((a, b) => a.at.getTime() - b.at.getTime());
  const at = (stage: string) => stages.find((entry) => entry.stage === stage)?.at;
  const landed = at("merge") ?? at("change");
  const durations: Record<string, number | undefined> = {
    detect_s: seconds(faultAt, at("alert")),
    decide_s: seconds(at("alert"), at("decision")),
    remediate_s: seconds(at("decision"), landed),
    sync_s: seconds(landed, at("sync")),
    verify_s: seconds(at("sync"), at("closed")),
  };
  const defined = Object.fromEntries(Object.entries(durations).filter(([, value]) => value !== undefined));
  const mttr = seconds(faultAt, incident.closedAt === undefined ? undefined : new Date(incident.closedAt));
  return {
    incident,
    faultAt,
    stages,
    durations: defined as StageDurations,
    ...(mttr === undefined ? {} : { mttr_s: mttr }),
    events,
  };
}
