import { rm } from "node:fs/promises";
import { join } from "node:path";
import { describeError } from "../errors/selfheal-error.js";
import type { Logger } from "../util/logger.js";
import { openJournal, removeOlder, snapshotName, writeSnapshot } from "./journal-folder.js";
import type { JournalWriter } from "./journal-writer.js";
import type { StoreProjection } from "./projection.js";

/** Compacts the journal of an open file store. */
export interface Compactor {
  /** Compactions done so far. */
  readonly compactions: number;
  /** The generation of the journal the writer appends to. */
  readonly gen: number;
  /** Compact now; after the compaction under way, if there is one. */
  compact(): Promise<void>;
  /** Start a compaction if the current journal is past the limit and none is under way. */
  compactIfDue(): void;
}

export interface CompactorSettings {
  readonly dir: string;
  readonly fsync: boolean;
  readonly logger: Logger;
  /** The size of the current journal past which it is compacted. */
  readonly limit: number;
  readonly projection: StoreProjection;
  readonly writer: JournalWriter;
  /** The generation of the journal the writer appends to. */
  readonly gen: number;
  /** Whether an automatic compaction may start (not when the store is closing). */
  readonly mayStart: () => boolean;
  /** Hand over an automatic compaction, for close to wait on. */
  readonly started: (compaction: Promise<void>) => void;
}

/**
 * Compaction, in three steps, each of which leaves a folder that opens to the same state
 * (see `journal-folder.ts`):
 *
 * 1. Switch the writer to journal g + 1, between two batches. In the same turn, take the
 *    records of the projection: a write applies to the projection in the turn it is appended,
 *    so these are exactly the writes that go to journal g, no more.
 * 2. Once journal g is synced and closed (and g + 1 created), write `snapshot-<g>.ndjson.tmp`,
 *    sync it, rename it to `snapshot-<g>.ndjson`, sync the folder.
 * 3. Remove the snapshots and journals it replaces: generations up to g.
 *
 * A crash before step 2 ends leaves journals g and g + 1 (and a `.tmp`, ignored); one after it
 * leaves a snapshot that journals g + 1 on follow, and older files that are ignored.
 */
export function compactor(settings: CompactorSettings): Compactor {
  const { dir, fsync, logger, limit, projection, writer } = settings;
  let gen = settings.gen;
  let running: Promise<void> | undefined;
  let compactions = 0;

  const compactOnce = async (): Promise<void> => {
    const old = gen;
    const switched = writer.switchTo(() => openJournal(dir, old + 1, fsync));
    const records = projection.snapshotRecords();
    await switched;
    gen = old + 1;
    try {
      await writeSnapshot(dir, old, records);
    } catch (error) {
      // Journals g and g + 1 still hold everything; the next compaction starts from g + 1.
      await rm(join(dir, `${snapshotName(old)}.tmp`), { force: true }).catch(() => undefined);
      throw error;
    }
    await removeOlder(dir, old);
    compactions++;
    logger.info("compacted the journal", { dir, snapshot: snapshotName(old), records: records.length });
  };

  const compact = (): Promise<void> => {
    const next = (running ?? Promise.resolve()).catch(() => undefined).then(compactOnce);
    running = next;
    const clear = () => {
      if (running === next) running = undefined;
    };
    next.then(clear, clear);
    return next;
  };

  return {
    get compactions() {
      return compactions;
    },
    get gen() {
      return gen;
    },
    compact,
    compactIfDue() {
      if (running !== undefined || writer.error !== undefined || writer.journalBytes <= limit) return;
      if (!settings.mayStart()) return;
      settings.started(
        compact().catch((error: unknown) =>
          logger.error("cannot compact the journal", { dir, error: describeError(error) }),
        ),
      );
    },
  };
}
