import { DecisionInput } from "../spec/decision.js";
import type { Incident } from "../spec/incident.js";

/** A valid open incident (checkout, HighErrorRate), with any field overridden. */
export function makeIncident(overrides: Partial<Incident> = {}): Incident {
  const at = "2026-08-20T10:15:30.123Z";
  return {
    id: "checkout-higherrorrate-0123456789",
    key: "checkout/HighErrorRate",
    service: "checkout",
    alertname: "HighErrorRate",
    state: "deciding",
    revision: 2,
    labels: { alertname: "HighErrorRate", service: "checkout", severity: "critical", namespace: "shop" },
    annotations: { summary: "checkout error rate above 5%" },
    fingerprint: "5c2a8e0f3b7d41a9",
    startsAt: at,
    firing: ["5c2a8e0f3b7d41a9"],
    signalCount: 1,
    openedAt: at,
    updatedAt: at,
    verifications: [],
    ...overrides,
  };
}

/**
 * A valid incident in state `verifying`: a rollback plan by the `recording` remediator for its
 * service and an applied result, with any field overridden (a `plan` or `result` given replaces
 * the default whole).
 */
export function makeVerifyingIncident(overrides: Partial<Incident> = {}): Incident {
  const incident = makeIncident(overrides);
  const idempotencyKey = "k";
  return {
    ...incident,
    state: "verifying",
    plan: {
      idempotencyKey,
      incidentId: incident.id,
      service: incident.service,
      action: "rollback",
      params: {},
      remediator: "recording",
      summary: "s",
      changes: [],
    },
    result: {
      idempotencyKey,
      status: "applied",
      reused: false,
      startedAt: "2026-08-20T10:16:00.000Z",
      finishedAt: "2026-08-20T10:16:01.000Z",
    },
    ...overrides,
  };
}

/** A valid decision input for `makeIncident()`, with any field overridden. */
export function makeDecisionInput(overrides: Partial<DecisionInput> = {}): DecisionInput {
  return DecisionInput.parse({
    alert: {
      labels: { alertname: "HighErrorRate", service: "checkout", severity: "critical", namespace: "shop" },
      annotations: { summary: "checkout error rate above 5%" },
      status: "firing",
      starts_at: "2026-08-20T10:15:30.123Z",
      fingerprint: "5c2a8e0f3b7d41a9",
    },
    service: "checkout",
    incident: {
      id: "checkout-higherrorrate-0123456789",
      key: "checkout/HighErrorRate",
      alertname: "HighErrorRate",
      opened_at: "2026-08-20T10:15:30.123Z",
      signal_count: 1,
    },
    metrics: { error_rate: 0.3, restart_count: 5 },
    current_replicas: 3,
    max_replicas: 10,
    deployment: {
      image: "registry.example.com/checkout:v1.2.0",
      previous_image: "registry.example.com/checkout:v1.1.0",
      replicas: 3,
    },
    history: [],
    now: "2026-08-20T10:16:00.000Z",
    ...overrides,
  });
}
