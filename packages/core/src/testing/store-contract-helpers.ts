import { expect } from "vitest";
import type { Incident } from "../spec/incident.js";
import type { Signal } from "../spec/signal.js";
import type { IngestOutcome, Store } from "../spec/store.js";
import { makeEntry, makeSignal } from "./fixtures.js";

/** The store a contract test works on: a fresh one for each test, replaced when reopened. */
export interface ContractSubject {
  /** The name given to `testStoreContract`. */
  readonly name: string;
  /** The store under test now. */
  readonly store: Store;
  /** Whether the store can be closed and opened again on the same data. */
  readonly canReopen: boolean;
  /** Close the store and open it again on the same data; skips the test for a store that cannot. */
  reopen(skip: (note: string) => never): Promise<Store>;
}

/** A time of the contract's own clock: `at(5)` is five minutes into 2030. */
export const at = (minute: number): string => new Date(Date.UTC(2030, 0, 1, 0, minute)).toISOString();

/** A time before anything the contract writes. */
export const epoch = new Date(0).toISOString();

/** What the promise rejected with; fails the test if it resolved. */
export function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected the call to reject");
    },
    (error: unknown) => error,
  );
}

/** Shorthands over the subject's current store. */
export function contractHelpers(subject: ContractSubject) {
  const ingestOne = async (signal: Signal): Promise<IngestOutcome> => {
    const outcomes = await subject.store.ingest([makeEntry(signal)]);
    expect(outcomes).toHaveLength(1);
    return outcomes[0] as IngestOutcome;
  };
  return {
    /** Ingest one signal; its outcome. */
    ingestOne,
    /** Ingest a signal that must open an incident; the incident. */
    open: async (signal: Signal = makeSignal()): Promise<Incident> => {
      const outcome = await ingestOne(signal);
      expect(outcome.disposition).toBe("opened");
      if (outcome.incident === undefined) throw new Error("an opened outcome has no incident");
      return outcome.incident;
    },
    /** The stored incident, which must exist. */
    stored: async (id: string): Promise<Incident> => {
      const incident = await subject.store.getIncident(id);
      if (incident === undefined) throw new Error(`incident ${id} is not in the store`);
      return incident;
    },
    /** Types of the incident's events, oldest first. */
    eventTypes: async (incidentId: string) =>
      (await subject.store.listEvents({ incidentId })).map((event) => event.type),
    /** Ids of all events, oldest first. */
    eventIds: async () => (await subject.store.listEvents()).map((event) => event.id),
  };
}
