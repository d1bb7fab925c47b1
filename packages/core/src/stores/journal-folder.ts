import { type FileHandle, open, readdir, rename, rm, truncate } from "node:fs/promises";
import { join } from "node:path";
import { StoreError } from "../errors/selfheal-error.js";
import type { Logger } from "../util/logger.js";
import { encodeLines, scanJournalFile } from "./journal.js";
import type { JournalSink } from "./journal-writer.js";
import { StoreProjection, type StoreRecord } from "./projection.js";

/**
 * The files of a store folder. The journal comes in generations: writes go to
 * `journal-<gen>.ndjson` until a compaction moves them on to generation gen + 1 and writes
 * `snapshot-<gen>.ndjson`, the state as of the end of journal `gen`, in the journal's own
 * format (records, then one commit line). The state is the newest complete snapshot plus the
 * journals after it, in order. `journal.ndjson`, from before generations, is generation 0.
 *
 * A compaction (see `compaction.ts`) is crash-safe because every step leaves a folder that
 * opens to the same state: a `.tmp` snapshot is ignored (and removed), and journals and
 * snapshots older than the newest complete snapshot are ignored (and removed).
 */
export const journalName = (gen: number): string =>
  gen === 0 ? "journal.ndjson" : `journal-${String(gen).padStart(8, "0")}.ndjson`;
export const snapshotName = (gen: number): string => `snapshot-${String(gen).padStart(8, "0")}.ndjson`;

const journalPattern = /^journal(?:-(\d+))?\.ndjson$/;
const snapshotPattern = /^snapshot-(\d+)\.ndjson$/;
const tmpPattern = /^snapshot-\d+\.ndjson\.tmp$/;

/** The generations of the journals and snapshots in a folder, oldest first; and leftover `.tmp` files. */
export async function listFolder(
  dir: string,
): Promise<{ journals: number[]; snapshots: number[]; tmp: string[] }> {
  const journals: number[] = [];
  const snapshots: number[] = [];
  const tmp: string[] = [];
  for (const name of await readdir(dir)) {
    const journal = journalPattern.exec(name);
    const snapshot = snapshotPattern.exec(name);
    if (journal !== null) journals.push(journal[1] === undefined ? 0 : Number(journal[1]));
    else if (snapshot !== null) snapshots.push(Number(snapshot[1]));
    else if (tmpPattern.test(name)) tmp.push(name);
  }
  const ascending = (a: number, b: number) => a - b;
  return { journals: journals.sort(ascending), snapshots: snapshots.sort(ascending), tmp };
}

/** What a folder holds: the state, and the journal to append to. */
export interface LoadedFolder {
  readonly projection: StoreProjection;
  /** The generation of the current (newest) journal. */
  readonly gen: number;
  /** Its size, after cutting off a torn end. */
  readonly bytes: number;
}

/**
 * Rebuild the state of a folder: the newest complete snapshot, then the journals after it in
 * order. Only the newest journal may end in a torn write (it is cut off); anything else that
 * does not read is an error naming the file and line. Removes what a crashed compaction left.
 */
export async function loadFolder(
  dir: string,
  logger: Logger,
  options: { readonly readOnly?: boolean } = {},
): Promise<LoadedFolder> {
  // Read-only (another process may own the folder and be writing): change no file; a torn
  // end is a write still under way, simply not read.
  const readOnly = options.readOnly ?? false;
  const { journals, snapshots, tmp } = await listFolder(dir);
  if (!readOnly) for (const name of tmp) await rm(join(dir, name), { force: true });

  let projection = new StoreProjection();
  let base = -1;
  for (const gen of [...snapshots].reverse()) {
    const path = join(dir, snapshotName(gen));
    const candidate = new StoreProjection();
    const scan = await scanJournalFile(path, (record) => candidate.apply(record));
    // Renamed into place only once complete, so this takes a damaged disk; an older one may do.
    if (scan.bytes > 0 && scan.committedLength === scan.bytes) {
      projection = candidate;
      base = gen;
      break;
    }
    logger.warn("ignoring an incomplete snapshot", { snapshot: path });
  }

  const replay = journals.filter((gen) => gen > base);
  // Journals must follow the snapshot without a gap (a fresh folder starts at generation 1, a
  // legacy one at 0): a gap means a snapshot the missing journals were compacted into is lost.
  let expected = base >= 0 ? base + 1 : Math.min(replay[0] ?? 1, 1);
  for (const gen of replay) {
    if (gen !== expected) throw missing(dir, expected);
    expected++;
  }
  const gen = replay[replay.length - 1] ?? Math.max(base + 1, 1);
  let size = 0;
  for (const journal of replay) {
    const path = join(dir, journalName(journal));
    const newest = journal === gen;
    const scan = await scanJournalFile(path, (record) => projection.apply(record), { strict: !newest });
    size = scan.committedLength;
    if (scan.committedLength < scan.bytes && !readOnly) {
      // A crash in the middle of a write: that write was never acknowledged, drop it.
      await truncate(path, scan.committedLength);
      logger.warn("dropped an unfinished write at the end of the journal", {
        journal: path,
        bytes: scan.bytes - scan.committedLength,
        lines: scan.droppedLines,
      });
    }
  }
  if (base >= 0 && !readOnly) await removeOlder(dir, base, { journals, snapshots });
  return { projection, gen, bytes: size };
}

function missing(dir: string, gen: number): StoreError {
  return new StoreError(`${join(dir, journalName(gen))} is missing: the store cannot be rebuilt`, {
    adapter: "file-store",
    operation: "open",
    retryable: false,
  });
}

/**
 * Write `snapshot-<gen>.ndjson` from the records: to a `.tmp` file first, synced, then renamed
 * into place and the folder synced. Serialises in slices so a large state does not hold up
 * the event loop in one go.
 */
export async function writeSnapshot(
  dir: string,
  gen: number,
  records: readonly StoreRecord[],
): Promise<void> {
  const path = join(dir, snapshotName(gen));
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, "w", 0o600);
  try {
    const sink = fileSink(handle);
    let lines: string[] = [];
    for (const record of records) {
      lines.push(`${JSON.stringify(record)}\n`);
      if (lines.length === 200) {
        await sink.write(lines.join(""));
        lines = [];
      }
    }
    // The commit line last: a snapshot without it is incomplete, and ignored on open.
    await sink.write(lines.join("") + encodeLines([]));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await syncFolder(dir);
}

/**
 * Remove snapshots older than `gen` and journals up to `gen`: all are in snapshot `gen`. Pass
 * the folder's `listing` when it was just read.
 */
export async function removeOlder(
  dir: string,
  gen: number,
  listing?: { readonly journals: readonly number[]; readonly snapshots: readonly number[] },
): Promise<void> {
  const { journals, snapshots } = listing ?? (await listFolder(dir));
  for (const old of snapshots.filter((snapshot) => snapshot < gen)) await rm(join(dir, snapshotName(old)));
  for (const old of journals.filter((journal) => journal <= gen)) await rm(join(dir, journalName(old)));
}

/** Open (or create) a journal for appending; with `fsync`, make it and its name durable first. */
export async function openJournal(dir: string, gen: number, fsync: boolean): Promise<JournalSink> {
  const handle = await open(join(dir, journalName(gen)), "a", 0o600);
  if (fsync) {
    try {
      await handle.sync();
      await syncFolder(dir);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }
  return fileSink(handle);
}

function fileSink(handle: FileHandle): JournalSink {
  return {
    async write(text) {
      const bytes = Buffer.from(text, "utf8");
      let offset = 0;
      while (offset < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
        offset += bytesWritten;
      }
    },
    sync: () => handle.datasync(),
    close: () => handle.close(),
  };
}

/** fsync a folder so a new file in it survives a crash. Not possible on every platform: best effort. */
export async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, "r").catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync();
  } catch {
    // Windows cannot fsync a folder; the file's own fsync is all there is.
  } finally {
    await handle.close();
  }
}
