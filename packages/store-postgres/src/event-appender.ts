import { type AuditEvent, SelfHealError } from "@selfheal/core";
import { insertEventsSql } from "./events.js";
import type { Tables } from "./postgres-settings.js";
import { type Runner, StoreOutcomeUnknownError } from "./runner.js";

/** Appends audit events, sharing one INSERT (one commit) among the calls that arrive together. */
export interface EventAppender {
  append(events: readonly AuditEvent[]): Promise<void>;
}

interface Pending {
  readonly events: readonly AuditEvent[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for audit events: a call that arrives while `inFlight` INSERTs are running waits
 * and goes with the calls queued beside it in the next one (up to `maxEvents` events). Each
 * INSERT is atomic, so every call still lands whole or not at all. When a shared INSERT is
 * refused (one call's bad event), the calls are tried one by one, so one call's error does not
 * become its neighbours'.
 */
export function eventAppender(
  runner: Runner,
  tables: Tables,
  options: { readonly inFlight: number; readonly maxEvents: number },
): EventAppender {
  const queue: Pending[] = [];
  let running = 0;
  const sql = insertEventsSql(tables);
  const insert = (events: readonly AuditEvent[]) =>
    runner.statement("appendEvents", async (connection) => {
      await connection.query(runner.prepared(sql, [JSON.stringify(events)]));
    });

  const flush = (): void => {
    while (running < options.inFlight && queue.length > 0) {
      const batch: Pending[] = [];
      let size = 0;
      while (
        queue.length > 0 &&
        (batch.length === 0 || size + (queue[0]?.events.length ?? 0) <= options.maxEvents)
      ) {
        const next = queue.shift() as Pending;
        batch.push(next);
        size += next.events.length;
      }
      running++;
      write(batch).finally(() => {
        running--;
        flush();
      });
    }
  };

  const write = async (batch: readonly Pending[]): Promise<void> => {
    try {
      await insert(batch.flatMap((pending) => pending.events));
      for (const pending of batch) pending.resolve();
    } catch (error) {
      // Refused by the database (not lost on the way): nothing was written, trying alone is safe.
      const refused =
        SelfHealError.isInstance(error) && !error.retryable && !(error instanceof StoreOutcomeUnknownError);
      if (batch.length === 1 || !refused) {
        for (const pending of batch) pending.reject(error);
        return;
      }
      await Promise.all(batch.map((pending) => insert(pending.events).then(pending.resolve, pending.reject)));
    }
  };

  return {
    append: (events) =>
      new Promise<void>((resolve, reject) => {
        queue.push({ events, resolve, reject });
        flush();
      }),
  };
}
