import type { AuditEvent, AuditEventType, Incident } from "../spec/index.js";

/** The stages of the loop, in order. */
export type ChainStage = "signal" | "decision" | "change" | "sync" | "verification";

/** One stage an incident reached, with its time and what happened. */
export interface ChainStep {
  readonly stage: ChainStage;
  readonly at: string;
  /** `ok`, `failed`, or `skipped` (planned only: dry run, suppressed). */
  readonly status: "ok" | "failed" | "skipped";
  readonly detail: string;
}

/** The event types {@link auditChain} reads: the audit ledger lists only these. */
export const chainTypes: readonly AuditEventType[] = [
  "incident.opened",
  "signal.received",
  "decision.made",
  "decision.failed",
  "remediation.planned",
  "remediation.completed",
  "remediation.failed",
  "remediation.cancelled",
  "verification.started",
  "verification.passed",
  "verification.failed",
];

/**
 * The chain of an incident from its audit events: the first signal, the decision, the change
 * (carried out, failed, or only planned), the sync check and the recovery check. Each stage
 * keeps its last event, so a retried step shows how it ended.
 */
export function auditChain(incident: Incident, events: readonly AuditEvent[]): ChainStep[] {
  const steps = new Map<ChainStage, ChainStep>();
  const set = (stage: ChainStage, event: AuditEvent, status: ChainStep["status"]) =>
    steps.set(stage, { stage, at: event.at, status, detail: event.message });
  let verifyStage: "sync" | "verification" = "verification";
  for (const event of events) {
    switch (event.type) {
      case "incident.opened":
      case "signal.received":
        if (!steps.has("signal")) set("signal", event, "ok");
        break;
      case "decision.made":
        set("decision", event, "ok");
        break;
      case "decision.failed":
        set("decision", event, "failed");
        break;
      case "remediation.planned":
        if (!steps.has("change") || steps.get("change")?.status === "skipped")
          set("change", event, "skipped");
        break;
      case "remediation.completed":
        set("change", event, "ok");
        break;
      case "remediation.failed":
      case "remediation.cancelled":
        set("change", event, "failed");
        break;
      case "verification.started":
        verifyStage = event.data?.stage === "sync" ? "sync" : "verification";
        break;
      case "verification.passed":
        set(verifyStage, event, "ok");
        break;
      case "verification.failed":
        set(verifyStage, event, "failed");
        break;
      default:
        break;
    }
  }
  if (!steps.has("signal")) {
    steps.set("signal", { stage: "signal", at: incident.openedAt, status: "ok", detail: "incident opened" });
  }
  const order: readonly ChainStage[] = ["signal", "decision", "change", "sync", "verification"];
  return order.flatMap((stage) => {
    const step = steps.get(stage);
    return step === undefined ? [] : [step];
  });
}
