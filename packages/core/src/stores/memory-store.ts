import type { AuditEvent } from "../spec/audit-event.js";
import type { Incident } from "../spec/incident.js";
import type { EventQuery, IncidentQuery, IngestEntry, Store } from "../spec/store.js";
import { StoreProjection } from "./projection.js";

/** Settings of `memoryStore`. */
export interface MemoryStoreSettings {
  /** Clock, for tests. @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * A store that keeps everything in memory: for tests and for `selfheal replay`, which must
 * write nothing anywhere. Everything is lost when the process ends.
 */
export function memoryStore(settings: MemoryStoreSettings = {}): Store {
  const projection = new StoreProjection();
  const now = settings.now ?? (() => new Date());
  const name = "memory";
  const copy = <T>(value: T): T => structuredClone(value);
  return {
    name,
    async ingest(entries: readonly IngestEntry[]) {
      const { records, outcomes } = projection.planIngest(copy(entries), now());
      for (const record of records) projection.apply(record);
      return copy(outcomes);
    },
    async getIncident(id: string) {
      const incident = projection.getIncident(id);
      return incident === undefined ? undefined : copy(incident);
    },
    async listIncidents(query?: IncidentQuery) {
      return copy(projection.listIncidents(query));
    },
    async updateIncident(
      incident: Incident,
      options: { expectedRevision: number; events?: readonly AuditEvent[] },
    ) {
      const planned = projection.planUpdate(incident, options.expectedRevision, options.events ?? [], name);
      for (const record of planned.records) projection.apply(copy(record));
      return copy(planned.incident);
    },
    async appendEvents(events: readonly AuditEvent[]) {
      if (events.length > 0) projection.apply({ kind: "events", events: copy(events) });
    },
    async listEvents(query?: EventQuery) {
      return copy(projection.listEvents(query));
    },
    async listActions(query: { service?: string; since: string }) {
      return copy(projection.listActions(query));
    },
    async close() {},
  };
}
