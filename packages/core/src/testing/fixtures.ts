import { eventId, incidentIdFor, shortHash } from "../runtime/ids.js";
import type { AuditEvent } from "../spec/audit-event.js";
import { Signal } from "../spec/signal.js";
import type { IngestEntry } from "../spec/store.js";

/**
 * A valid Alertmanager-like signal, firing `HighErrorRate` on `checkout` unless overridden.
 * Defaults follow the overrides: labels carry the alertname and service, the fingerprint is a
 * hash of them (so two alerts differ), and `dedupKey` is fingerprint + startsAt + status (so a
 * resolution or a new start is a new delivery). Throws when the result is not a valid `Signal`.
 */
export function makeSignal(overrides: Partial<Signal> = {}): Signal {
  const alertname = overrides.alertname ?? "HighErrorRate";
  const service = overrides.service ?? "checkout";
  const status = overrides.status ?? "firing";
  const fingerprint = overrides.fingerprint ?? shortHash(["alertname", alertname, "service", service], 16);
  const startsAt = overrides.startsAt ?? "2026-08-20T10:00:00.000Z";
  return Signal.parse({
    source: "alertmanager",
    alertname,
    service,
    status,
    fingerprint,
    startsAt,
    receivedAt: "2026-08-20T10:00:05.000Z",
    labels: { alertname, service, severity: "critical" },
    annotations: { summary: `${alertname} on ${service}` },
    dedupKey: `${fingerprint}/${startsAt}/${status}`,
    ...overrides,
  });
}

/**
 * What the controller would record for `signal`: key `service/alertname`, the incident id the
 * controller derives from it, actor `test`.
 */
export function makeEntry(signal: Signal, overrides: Partial<IngestEntry> = {}): IngestEntry {
  const key = overrides.key ?? `${signal.service}/${signal.alertname}`;
  return {
    signal,
    key,
    newIncidentId: incidentIdFor(key, signal.dedupKey),
    actor: "test",
    ...overrides,
  };
}

/** An audit event with a fresh id, written by `test`; give at least its `type`. */
export function makeEvent(overrides: Partial<AuditEvent> & Pick<AuditEvent, "type">): AuditEvent {
  return {
    id: eventId(),
    at: "2026-08-20T10:00:00.000Z",
    actor: "test",
    message: `${overrides.type} (test)`,
    ...overrides,
  };
}
