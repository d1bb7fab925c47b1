import type { RequestRefusal } from "../http/request-listener.js";
import type { AuditEvent } from "../spec/audit-event.js";
import type { Signal } from "../spec/signal.js";
import type { RejectedItem } from "../spec/signal-source.js";
import { redact } from "../util/redact.js";
import { eventId } from "./ids.js";

/**
 * One `signal.rejected` event per item a source could not accept, while the others of the
 * delivery were: where and why, never the item (its content is untrusted).
 */
export function rejectedItemEvents(
  rejected: readonly RejectedItem[],
  source: string,
  actor: string,
  at: Date,
): AuditEvent[] {
  return rejected.map((item) => ({
    id: eventId(),
    at: at.toISOString(),
    type: "signal.rejected",
    actor,
    message: `item ${item.index} of a delivery from ${source} rejected (the others were accepted): ${redact(item.reason)}`,
    data: {
      source,
      scope: "item",
      index: item.index,
      path: item.path,
      reason: redact(item.reason),
      ...(item.fingerprint === undefined ? {} : { fingerprint: item.fingerprint }),
    },
  }));
}

/** The `signal.rejected` event of a whole delivery refused after authentication: the reason, no body. */
export function refusedDeliveryEvent(
  refusal: RequestRefusal,
  source: string,
  actor: string,
  at: Date,
): AuditEvent {
  return {
    id: eventId(),
    at: at.toISOString(),
    type: "signal.rejected",
    actor,
    message: `a delivery from ${source} was refused with ${refusal.status}, none of its signals recorded: ${redact(refusal.reason)}`,
    data: {
      source,
      scope: "delivery",
      status: refusal.status,
      reason: redact(refusal.reason),
      ...(refusal.path === undefined ? {} : { path: refusal.path }),
    },
  };
}

/**
 * Alerts left out of the deliveries in a batch, by source. Every signal of a delivery carries
 * the delivery's count, so it is taken once per source and group key (the largest seen).
 */
export function truncatedBySource(signals: readonly Signal[]): Map<string, number> {
  const perDelivery = new Map<string, { source: string; count: number }>();
  for (const signal of signals) {
    const count = signal.truncatedAlerts ?? 0;
    if (count <= 0) continue;
    const key = JSON.stringify([signal.source, signal.groupKey ?? "", signal.receivedAt]);
    const seen = perDelivery.get(key);
    if (seen === undefined || seen.count < count) perDelivery.set(key, { source: signal.source, count });
  }
  const bySource = new Map<string, number>();
  for (const { source, count } of perDelivery.values()) {
    bySource.set(source, (bySource.get(source) ?? 0) + count);
  }
  return bySource;
}
