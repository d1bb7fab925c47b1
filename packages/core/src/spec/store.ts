import type { AuditEvent, AuditEventType } from "./audit-event.js";
import type { ActionName } from "./common.js";
import type { HistoryEntry } from "./decision.js";
import type { FollowUpOrder, Incident, IncidentState } from "./incident.js";
import type { Signal } from "./signal.js";

/** One signal to record, with what the controller worked out for it. */
export interface IngestEntry {
  /** The signal. */
  readonly signal: Signal;
  /** The incident key it folds by. */
  readonly key: string;
  /** The id to give the incident if this signal opens one. */
  readonly newIncidentId: string;
  /** The controller instance recording it (for the audit trail). */
  readonly actor: string;
  /**
   * Set only by the controller, for an incident it opens itself to carry out a time-boxed
   * action's follow-up; copied onto the incident it opens. Never derived from a signal: a
   * label or annotation cannot make an incident a follow-up.
   */
  readonly followUp?: FollowUpOrder;
}

/** What recording a signal did. */
export interface IngestOutcome {
  /**
   * `opened`: it opened a new incident; `folded`: it joined an open incident; `duplicate`: the
   * same delivery was recorded before (nothing changed); `unmatched`: a resolved signal with no
   * open incident (recorded, nothing to do).
   */
  readonly disposition: "opened" | "folded" | "duplicate" | "unmatched";
  /** The incident it went to, as it is after the signal (absent when `unmatched`). */
  readonly incident?: Incident;
}

/** An automated action, as the audit trail tells it: what rate limits and policies count. */
export interface ActionRecord {
  readonly incidentId: string;
  readonly service: string;
  readonly action: ActionName;
  readonly idempotencyKey: string;
  /** When the action started (or was planned, for dry runs). */
  readonly at: string;
  /** `pending` until verified; `succeeded`, `failed`, `cancelled`; `dry_run` when only planned. */
  readonly outcome: HistoryEntry["outcome"];
}

/**
 * The right to work on one resource (an incident, a service's guardrail counters), held by
 * one controller instance until it expires. Only stores shared by several controllers need
 * claims; a store used by one controller may leave them out.
 */
export interface Claim {
  /** What is claimed: `incident:<id>` or `service:<name>`. */
  readonly resource: string;
  /** The controller instance holding it. */
  readonly owner: string;
  /**
   * Fencing token: grows with every new holder. A write fenced with an older token is
   * refused, so a controller whose claim was taken over cannot record a side effect.
   */
  readonly token: number;
  /** When the claim lapses unless renewed. */
  readonly expiresAt: string;
}

/** Which incidents to list. All fields narrow the result; none means all. */
export interface IncidentQuery {
  /** Only open (true) or only closed (false) incidents. */
  readonly open?: boolean;
  readonly service?: string;
  readonly states?: readonly IncidentState[];
  /** Only incidents opened at or after this time. */
  readonly since?: string;
  /** Only incidents opened before this time. */
  readonly until?: string;
  /** At most this many, newest first. */
  readonly limit?: number;
}

/** Which audit events to list, oldest first. */
export interface EventQuery {
  readonly incidentId?: string;
  /**
   * Only events of one of these incidents (an empty list matches none): one read for many
   * incidents, as the audit ledger needs, instead of one `listEvents` call per incident.
   */
  readonly incidentIds?: readonly string[];
  readonly service?: string;
  readonly types?: readonly AuditEventType[];
  /** Only events at or after this time. */
  readonly since?: string;
  /** Only events before this time. */
  readonly until?: string;
}

/**
 * Durable state of the controller: incidents, the audit trail, and what has been seen.
 *
 * Every method that writes resolves only once the write is durable: the webhook is
 * acknowledged after `ingest` resolves, and a side effect starts only after its "started"
 * event is stored. Every write is atomic: all of it lands or none.
 *
 * Implementations: `memoryStore()` (tests), `fileStore()` (embedded default), and
 * `@selfheal/store-postgres` (several replicas). All pass `testStoreContract` from
 * `@selfheal/core/testing`.
 */
export interface Store {
  /** Name for logs and errors (`file:/var/lib/selfheal`). */
  readonly name: string;

  /**
   * Record signals, in order, atomically: a signal whose `dedupKey` was seen before is a
   * duplicate and changes nothing; a firing signal joins the open incident with its key or
   * opens one with `newIncidentId`; a resolved signal updates the incident it belongs to.
   * Writes `signal.received` / `signal.duplicate` / `incident.opened` events. Concurrent calls
   * with the same signal produce one incident.
   */
  ingest(entries: readonly IngestEntry[]): Promise<IngestOutcome[]>;

  /** The incident with this id, if any. */
  getIncident(id: string): Promise<Incident | undefined>;

  /** Incidents matching the query, newest first. */
  listIncidents(query?: IncidentQuery): Promise<Incident[]>;

  /**
   * Replace an incident, if it is still at `expectedRevision`, and append `events`, atomically.
   * Resolves with the stored incident (its `revision` bumped by one). Rejects with a
   * `StoreConflictError` when the incident changed meanwhile: re-read and decide again.
   */
  updateIncident(
    incident: Incident,
    options: {
      readonly expectedRevision: number;
      readonly events?: readonly AuditEvent[];
      /**
       * Write only while this claim is still the current one for its resource; otherwise
       * reject with a `StoreFencedError` and write nothing.
       */
      readonly fence?: Claim;
    },
  ): Promise<Incident>;

  /** Append audit events that change no incident. */
  appendEvents(events: readonly AuditEvent[]): Promise<void>;

  /** Audit events matching the query, oldest first. */
  listEvents(query?: EventQuery): Promise<AuditEvent[]>;

  /**
   * Automated actions (dry runs included) started at or after `since`, newest first; for
   * one service, or all. Must be fast: it is read before every decision.
   */
  listActions(query: { readonly service?: string; readonly since: string }): Promise<ActionRecord[]>;

  /**
   * Take `resource` for `owner` for `ttlMs`, or renew it when `owner` holds it already (same
   * token). Resolves `undefined` while another owner holds an unexpired claim. Taking over an
   * expired claim gives a new, larger token.
   */
  claim?(resource: string, owner: string, ttlMs: number): Promise<Claim | undefined>;

  /** Give a claim up before it expires. Does nothing when it is no longer held. */
  releaseClaim?(claim: Claim): Promise<void>;

  /** Whether the store can take writes now (for readiness). Absent means always. */
  ready?(): Promise<boolean>;

  /** Flush and release files and connections. */
  close(): Promise<void>;
}
