import { type IngestEntry, type IngestOutcome, SelfHealError } from "@selfheal/core";
import { StoreOutcomeUnknownError } from "./runner.js";

/** Records signals, sharing one transaction (one commit) among the calls that arrive together. */
export interface IngestBatcher {
  ingest(entries: readonly IngestEntry[]): Promise<IngestOutcome[]>;
}

interface Pending {
  readonly entries: readonly IngestEntry[];
  readonly resolve: (outcomes: IngestOutcome[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for `ingest`: in an alert storm every webhook delivery is one call, and a
 * transaction each (eight statements and a commit) made the deliveries queue behind the
 * database. A call that arrives while `inFlight` transactions run waits and goes with the calls
 * queued beside it in the next one (up to `maxEntries` signals). The calls of a batch are
 * recorded in the order they arrived, so the outcome is the one they would have had one after
 * another (a signal seen in an earlier call of the batch is a duplicate). When a shared
 * transaction is refused (one call's bad signal), the calls are tried one by one, so one call's
 * error does not become its neighbours'.
 */
export function ingestBatcher(
  run: (entries: readonly IngestEntry[]) => Promise<IngestOutcome[]>,
  options: { readonly inFlight: number; readonly maxEntries: number },
): IngestBatcher {
  const queue: Pending[] = [];
  let running = 0;

  const flush = (): void => {
    while (running < options.inFlight && queue.length > 0) {
      const batch: Pending[] = [];
      let size = 0;
      while (
        queue.length > 0 &&
        (batch.length === 0 || size + (queue[0]?.entries.length ?? 0) <= options.maxEntries)
      ) {
        const next = queue.shift() as Pending;
        batch.push(next);
        size += next.entries.length;
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
      const outcomes = await run(batch.flatMap((pending) => pending.entries));
      let at = 0;
      for (const pending of batch) {
        pending.resolve(outcomes.slice(at, at + pending.entries.length));
        at += pending.entries.length;
      }
    } catch (error) {
      // Refused by the database (not lost on the way): nothing was written, trying alone is safe.
      const refused =
        SelfHealError.isInstance(error) && !error.retryable && !(error instanceof StoreOutcomeUnknownError);
      if (batch.length === 1 || !refused) {
        for (const pending of batch) pending.reject(error);
        return;
      }
      for (const pending of batch) await run(pending.entries).then(pending.resolve, pending.reject);
    }
  };

  return {
    ingest: (entries) => {
      if (entries.length === 0) return Promise.resolve([]);
      return new Promise<IngestOutcome[]>((resolve, reject) => {
        queue.push({ entries, resolve, reject });
        flush();
      });
    },
  };
}
