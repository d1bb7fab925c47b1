import { belongsTo, foldSignal } from "../runtime/fold.js";
import type { AuditEvent } from "../spec/audit-event.js";
import type { Incident } from "../spec/incident.js";
import type { IngestEntry, IngestOutcome } from "../spec/store.js";

/** What an ingest walk reads of the store's state before the batch. */
export interface IngestWalkState {
  /** The incident a delivery was recorded against (`null`: none), or `undefined` if never seen. */
  seen(dedupKey: string): string | null | undefined;
  /** An incident by id, for the outcome of a duplicate delivery. */
  incident(id: string): Incident | undefined;
  /** The newest incident of a key, open or closed. */
  latest(key: string): Incident | undefined;
}

/** What an ingest walk decided: the stores write it their own way. */
export interface IngestWalk {
  /** One outcome per entry, in entry order. */
  readonly outcomes: IngestOutcome[];
  /** Deliveries first seen in this batch, in entry order, with the incident each went to. */
  readonly seen: Map<string, string | null>;
  /** Incidents opened or changed by the batch, by id, in the order first touched. */
  readonly touched: Map<string, Incident>;
  /** Audit events of the batch, in order. */
  readonly events: AuditEvent[];
}

/**
 * Fold a batch of signals into incidents, as every store does on ingest. Entries in one batch
 * may fold into each other, so what this batch has done so far is read before `state`.
 * Writes nothing: the caller records the result.
 */
export function walkIngest(entries: readonly IngestEntry[], now: Date, state: IngestWalkState): IngestWalk {
  const outcomes: IngestOutcome[] = [];
  const seen = new Map<string, string | null>();
  const touched = new Map<string, Incident>();
  const openHere = new Map<string, string>();
  const events: AuditEvent[] = [];
  for (const entry of entries) {
    const dedupKey = entry.signal.dedupKey;
    const seenIncident = seen.has(dedupKey) ? seen.get(dedupKey) : state.seen(dedupKey);
    if (seenIncident !== undefined) {
      const incident =
        seenIncident === null ? undefined : (touched.get(seenIncident) ?? state.incident(seenIncident));
      outcomes.push(
        incident === undefined ? { disposition: "duplicate" } : { disposition: "duplicate", incident },
      );
      continue;
    }
    const hereId = openHere.get(entry.key);
    const stored = hereId === undefined ? state.latest(entry.key) : undefined;
    const latestId = hereId ?? stored?.id;
    const latest =
      latestId === undefined
        ? undefined
        : (touched.get(latestId) ?? (hereId === undefined ? stored : state.incident(hereId)));
    const folded = foldSignal(
      latest !== undefined && belongsTo(latest, entry.signal) ? latest : undefined,
      entry,
      now,
    );
    events.push(...folded.events);
    seen.set(dedupKey, folded.incident?.id ?? null);
    if (folded.incident !== undefined) {
      touched.set(folded.incident.id, folded.incident);
      openHere.set(entry.key, folded.incident.id);
      outcomes.push({ disposition: folded.disposition, incident: folded.incident });
    } else {
      outcomes.push({ disposition: folded.disposition });
    }
  }
  return { outcomes, seen, touched, events };
}
