import { StoreConflictError } from "../errors/selfheal-error.js";
import type { AuditEvent } from "../spec/audit-event.js";
import { closedStates, type Incident } from "../spec/incident.js";
import type { ActionRecord, EventQuery, IncidentQuery, IngestEntry, IngestOutcome } from "../spec/store.js";
import { actionChange } from "./action-change.js";
import { walkIngest } from "./walk-ingest.js";

/** What a write changes, as one journal record: replaying the records rebuilds the projection. */
export type StoreRecord =
  | { readonly kind: "seen"; readonly dedupKey: string; readonly incidentId: string | null }
  | { readonly kind: "incident"; readonly incident: Incident }
  | { readonly kind: "events"; readonly events: readonly AuditEvent[] };

/**
 * The in-memory state of a store, with the indexes reads need: open incident by key, seen
 * deliveries, events by incident and by service, actions by service in time order. The memory
 * store is this alone; the file store is this plus a journal of the records that built it.
 *
 * Methods named `plan*` compute the records a write would make without applying them, so a
 * durable store can write them first and apply them after.
 */
export class StoreProjection {
  readonly incidents = new Map<string, Incident>();
  /** The newest incident of each key, open or closed: signals fold into it while it is their episode. */
  private readonly latestByKey = new Map<string, string>();
  /** Ids of the incidents not closed yet, in the order they were opened. */
  private readonly openIds = new Set<string>();
  private readonly seen = new Map<string, string | null>();
  /** Events in time order, for reads. */
  private readonly events: AuditEvent[] = [];
  /**
   * The same events in the order they were written: a snapshot replays them in this order, so
   * that what depends on it (which event ended an action first) comes out the same.
   */
  private readonly written: AuditEvent[] = [];
  private readonly eventsByIncident = new Map<string, AuditEvent[]>();
  private readonly eventsByService = new Map<string, AuditEvent[]>();
  /** Actions by idempotency key, and per service in start order (for range reads). */
  private readonly actions = new Map<string, ActionRecord>();
  private readonly actionsByService = new Map<string, string[]>();

  /** Apply one record. Used for live writes and for replay alike. */
  apply(record: StoreRecord): void {
    switch (record.kind) {
      case "seen":
        this.seen.set(record.dedupKey, record.incidentId);
        return;
      case "incident":
        this.putIncident(record.incident);
        return;
      case "events":
        for (const event of record.events) this.addEvent(event);
        return;
    }
  }

  /**
   * The records that rebuild this projection when applied to an empty one: what a snapshot of
   * the file store holds. A synchronous walk, so it is the state of one moment; the records
   * share the projection's objects, which are never changed in place (writes replace them).
   */
  snapshotRecords(eventsPerRecord = 500): StoreRecord[] {
    const records: StoreRecord[] = [];
    // Incidents in their map order, so listIncidents breaks ties as before.
    const replayedLatest = new Map<string, Incident>();
    for (const incident of this.incidents.values()) {
      records.push({ kind: "incident", incident });
      const latest = replayedLatest.get(incident.key);
      if (latest === undefined || incident.openedAt >= latest.openedAt)
        replayedLatest.set(incident.key, incident);
    }
    // Replay makes the newest incident of a key its latest, but the live order of writes may
    // have made another one with the same openedAt the latest: write it once more to win.
    for (const [key, id] of this.latestByKey) {
      const incident = this.incidents.get(id);
      if (incident !== undefined && replayedLatest.get(key)?.id !== id)
        records.push({ kind: "incident", incident });
    }
    for (const [dedupKey, incidentId] of this.seen) records.push({ kind: "seen", dedupKey, incidentId });
    for (let start = 0; start < this.written.length; start += eventsPerRecord) {
      records.push({ kind: "events", events: this.written.slice(start, start + eventsPerRecord) });
    }
    return records;
  }

  /** Work out the records of an ingest, and its outcomes. Applies nothing. */
  planIngest(
    entries: readonly IngestEntry[],
    now: Date,
  ): { records: StoreRecord[]; outcomes: IngestOutcome[] } {
    const { outcomes, seen, touched, events } = walkIngest(entries, now, {
      seen: (dedupKey) => this.seen.get(dedupKey),
      incident: (id) => this.incidents.get(id),
      latest: (key) => {
        const id = this.latestByKey.get(key);
        return id === undefined ? undefined : this.incidents.get(id);
      },
    });
    const records: StoreRecord[] = [];
    for (const [dedupKey, incidentId] of seen) records.push({ kind: "seen", dedupKey, incidentId });
    for (const incident of touched.values()) records.push({ kind: "incident", incident });
    if (events.length > 0) records.push({ kind: "events", events });
    return { records, outcomes };
  }

  /** Work out the records of a compare-and-set update. Throws `StoreConflictError` on a stale revision. */
  planUpdate(
    incident: Incident,
    expectedRevision: number,
    events: readonly AuditEvent[],
    storeName: string,
  ): { records: StoreRecord[]; incident: Incident } {
    const current = this.incidents.get(incident.id);
    if (current === undefined) {
      throw new StoreConflictError(`incident ${incident.id} does not exist`, {
        incidentId: incident.id,
        adapter: storeName,
        operation: "updateIncident",
      });
    }
    if (current.revision !== expectedRevision) {
      throw new StoreConflictError(
        `incident ${incident.id} is at revision ${current.revision}, not ${expectedRevision}`,
        { incidentId: incident.id, adapter: storeName, operation: "updateIncident" },
      );
    }
    const next: Incident = { ...incident, revision: expectedRevision + 1 };
    const records: StoreRecord[] = [{ kind: "incident", incident: next }];
    if (events.length > 0) records.push({ kind: "events", events });
    return { records, incident: next };
  }

  getIncident(id: string): Incident | undefined {
    return this.incidents.get(id);
  }

  listIncidents(query: IncidentQuery = {}): Incident[] {
    const states = query.states === undefined ? undefined : new Set(query.states);
    // Open incidents are few and read before every decision (concurrency limit); closed ones
    // pile up over months. Walk only the open ones when nothing closed can match.
    const onlyOpen =
      query.open === true || (states !== undefined && [...states].every((state) => !closedStates.has(state)));
    const candidates = onlyOpen
      ? [...this.openIds].map((id) => this.incidents.get(id) as Incident)
      : this.incidents.values();
    const out: Incident[] = [];
    for (const incident of candidates) {
      if (query.open !== undefined && closedStates.has(incident.state) === query.open) continue;
      if (query.service !== undefined && incident.service !== query.service) continue;
      if (states !== undefined && !states.has(incident.state)) continue;
      if (query.since !== undefined && incident.openedAt < query.since) continue;
      if (query.until !== undefined && incident.openedAt >= query.until) continue;
      out.push(incident);
    }
    out.sort((a, b) => (a.openedAt < b.openedAt ? 1 : a.openedAt > b.openedAt ? -1 : 0));
    return query.limit === undefined ? out : out.slice(0, query.limit);
  }

  listEvents(query: EventQuery = {}): AuditEvent[] {
    // Several incidents: one walk of the trail in time order (from `since`), which keeps the
    // write order of events of the same time across incidents, as one list per incident cannot.
    const single = query.incidentId ?? (query.incidentIds?.length === 1 ? query.incidentIds[0] : undefined);
    const source =
      single !== undefined
        ? (this.eventsByIncident.get(single) ?? [])
        : query.service !== undefined
          ? (this.eventsByService.get(query.service) ?? [])
          : this.events;
    const types = query.types === undefined ? undefined : new Set(query.types);
    const ids = query.incidentIds === undefined ? undefined : new Set(query.incidentIds);
    const start = query.since === undefined ? 0 : lowerBound(source, query.since, (event) => event.at);
    const out: AuditEvent[] = [];
    if (ids?.size === 0) return out;
    for (let index = start; index < source.length; index++) {
      const event = source[index] as AuditEvent;
      if (query.until !== undefined && event.at >= query.until) break;
      if (query.service !== undefined && event.service !== query.service) continue;
      if (ids !== undefined && (event.incidentId === undefined || !ids.has(event.incidentId))) continue;
      if (types !== undefined && !types.has(event.type)) continue;
      out.push(event);
    }
    return out;
  }

  listActions(query: { readonly service?: string; readonly since: string }): ActionRecord[] {
    const keys =
      query.service === undefined
        ? [...this.actionsByService.values()].flat()
        : (this.actionsByService.get(query.service) ?? []);
    const out: ActionRecord[] = [];
    for (const key of keys) {
      const action = this.actions.get(key);
      if (action !== undefined && action.at >= query.since) out.push(action);
    }
    out.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    return out;
  }

  private putIncident(incident: Incident): void {
    this.incidents.set(incident.id, incident);
    if (closedStates.has(incident.state)) this.openIds.delete(incident.id);
    else this.openIds.add(incident.id);
    const latestId = this.latestByKey.get(incident.key);
    const latest = latestId === undefined ? undefined : this.incidents.get(latestId);
    if (latest === undefined || latest.id === incident.id || incident.openedAt >= latest.openedAt) {
      this.latestByKey.set(incident.key, incident.id);
    }
  }

  private addEvent(event: AuditEvent): void {
    this.written.push(event);
    insertByTime(this.events, event);
    if (event.incidentId !== undefined) insertByTime(listOf(this.eventsByIncident, event.incidentId), event);
    if (event.service !== undefined) insertByTime(listOf(this.eventsByService, event.service), event);
    this.indexAction(event);
  }

  /** Actions are what the audit trail says: started (or planned in dry run), then how they ended. */
  private indexAction(event: AuditEvent): void {
    const change = actionChange(event);
    if (change === undefined) return;
    const known = this.actions.get(change.idempotencyKey);
    if (change.kind === "start") {
      if (known !== undefined) return;
      const { kind: _, ...record } = change;
      this.actions.set(change.idempotencyKey, record);
      pushTo(this.actionsByService, change.service, change.idempotencyKey);
      return;
    }
    if (known?.outcome === "pending")
      this.actions.set(change.idempotencyKey, { ...known, outcome: change.outcome });
  }
}

function listOf<T>(map: Map<string, T[]>, key: string): T[] {
  let list = map.get(key);
  if (list === undefined) {
    list = [];
    map.set(key, list);
  }
  return list;
}

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  listOf(map, key).push(value);
}

/** Events mostly arrive in time order; keep the list sorted when one does not. */
function insertByTime(list: AuditEvent[], event: AuditEvent): void {
  const last = list[list.length - 1];
  if (last === undefined || last.at <= event.at) {
    list.push(event);
    return;
  }
  list.splice(
    lowerBound(list, event.at, (item) => item.at, true),
    0,
    event,
  );
}

/** Index of the first item whose key is >= `key` (or > `key` when `after`). */
function lowerBound<T>(list: readonly T[], key: string, keyOf: (item: T) => string, after = false): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const itemKey = keyOf(list[middle] as T);
    if (itemKey < key || (after && itemKey === key)) low = middle + 1;
    else high = middle;
  }
  return low;
}
