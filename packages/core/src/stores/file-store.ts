import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describeError, SelfHealError, StoreError } from "../errors/selfheal-error.js";
import type { AuditEvent } from "../spec/audit-event.js";
import type { Incident } from "../spec/incident.js";
import type { EventQuery, IncidentQuery, IngestEntry, IngestOutcome, Store } from "../spec/store.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { type Compactor, type CompactorSettings, compactor } from "./compaction.js";
import { type FolderLock, lockFolder } from "./folder-lock.js";
import { encodeLines } from "./journal.js";
import { journalName, loadFolder, openJournal } from "./journal-folder.js";
import { type JournalStats, JournalWriter } from "./journal-writer.js";
import type { StoreProjection, StoreRecord } from "./projection.js";

/** Settings of `fileStore`. */
export interface FileStoreSettings {
  /**
   * The folder holding the journal (`journal-<generation>.ndjson`), the snapshot it follows
   * (`snapshot-<generation>.ndjson`) and the lock; created if missing.
   */
  readonly dir: string;
  /**
   * Whether a write resolves only after fsync. Turn off only where losing the last writes on a
   * crash of the machine is fine (tests, benchmarks). @default true
   */
  readonly fsync?: boolean;
  /** Clock, for tests. @default () => new Date() */
  readonly now?: () => Date;
  /** Where warnings go (a torn journal end, a stale lock taken over). @default silentLogger */
  readonly logger?: Logger;
  /**
   * Compact once the current journal is larger than this: write a snapshot of the state and
   * start a new journal, so the folder does not grow forever and opening does not replay every
   * write ever made. Checked on open and after each write to disk. @default 64 MiB
   */
  readonly compactAfterBytes?: number;
}

/**
 * Counters of the journal writer (with group commit, `syncs` grows slower than `appends`),
 * and how many compactions were done since open.
 */
export interface FileStoreStats extends JournalStats {
  readonly compactions: number;
}

/** A store kept in one folder on local disk. */
export interface FileStore extends Store {
  /** The folder, as an absolute path. */
  readonly dir: string;
  /** Counters of the journal writer so far (a snapshot). */
  readonly stats: FileStoreStats;
  /**
   * Write a snapshot of the state and move on to a new journal, removing the older ones.
   * Writes go on meanwhile. Also done on its own, past `compactAfterBytes`.
   */
  compact(): Promise<void>;
}

/**
 * A durable store in one folder: an append-only journal replayed into memory on open. The
 * embedded default, for a single controller replica (it takes a lock on the folder).
 *
 * Every write resolves once its records are on disk (fsync'd); concurrent writes share one
 * write and one fsync (group commit). Reads are served from memory. Opening starts at once
 * and every method waits for it; `openFileStore` waits for it up front and throws there.
 *
 * @example `store: fileStore("/var/lib/selfheal")`
 */
export function fileStore(settings: FileStoreSettings | string): FileStore {
  return createFileStore(settings).store;
}

/** `fileStore`, resolved once the journal is replayed and the folder locked; rejects if it cannot be. */
export async function openFileStore(settings: FileStoreSettings | string): Promise<FileStore> {
  const { store, opened } = createFileStore(settings);
  await opened;
  return store;
}

/** What an open store holds. */
interface OpenState {
  readonly projection: StoreProjection;
  readonly writer: JournalWriter;
  readonly compactor: Compactor;
  readonly lock: FolderLock;
}

interface FileStoreConfig {
  readonly dir: string;
  readonly name: string;
  readonly fsync: boolean;
  readonly compactAfterBytes: number;
  readonly now: () => Date;
  readonly logger: Logger;
}

const adapter = "file-store";

function createFileStore(settings: FileStoreSettings | string): {
  store: FileStore;
  opened: Promise<unknown>;
} {
  const config = resolveConfig(typeof settings === "string" ? { dir: settings } : settings);
  const { name, now } = config;
  let closing: Promise<void> | undefined;
  /** Calls under way (and automatic compactions): `close()` lets the ones made before it finish. */
  const active = new Set<Promise<unknown>>();
  const track = (call: Promise<unknown>) => {
    active.add(call);
    const done = () => active.delete(call);
    call.then(done, done);
  };
  const opened = openState(config, {
    mayStart: () => closing === undefined,
    started: track,
  });
  let state: OpenState | undefined;
  // Methods report a failure to open; this also keeps it from being an unhandled rejection.
  opened.then(
    (open) => {
      state = open;
      open.compactor.compactIfDue();
    },
    (error: unknown) =>
      config.logger.error("file store cannot open", { store: name, error: describeError(error) }),
  );
  const copy = <T>(value: T): T => structuredClone(value);

  /**
   * Run a call once the store is open. A call made after `close()` rejects; one made before it
   * runs to the end, and close waits for it. `body` starts in the same turn as the checks, so
   * nothing is appended to a failed journal.
   */
  const run = <T>(
    operation: string,
    writes: boolean,
    body: (open: OpenState) => T | Promise<T>,
  ): Promise<T> => {
    if (closing !== undefined) {
      return Promise.reject(new StoreError(`${name} is closed`, { adapter, operation, retryable: false }));
    }
    const call = opened.then((open) => {
      if (writes && open.writer.error !== undefined) throw open.writer.error;
      return body(open);
    });
    track(call);
    return call;
  };

  /**
   * Apply a write's records to memory at once, so that a concurrent compare-and-set sees the new
   * revision and a concurrent redelivery sees the dedupKey; then wait for them to be durable.
   */
  const write = async (open: OpenState, records: readonly StoreRecord[]): Promise<void> => {
    if (records.length === 0) return;
    // The records are serialised for the journal anyway; parsing that text back gives the
    // projection its own copy for less than a structured clone costs.
    const lines = records.map((record) => JSON.stringify(record));
    const durable = open.writer.append(encodeLines(lines));
    const seenHere: string[] = [];
    for (const line of lines) {
      const record = JSON.parse(line) as StoreRecord;
      open.projection.apply(record);
      if (record.kind === "seen") {
        seenHere.push(record.dedupKey);
        pendingSeen.set(record.dedupKey, durable);
      }
    }
    if (seenHere.length > 0) {
      const settle = () => {
        for (const dedupKey of seenHere)
          if (pendingSeen.get(dedupKey) === durable) pendingSeen.delete(dedupKey);
      };
      durable.then(settle, settle);
    }
    await durable;
  };

  /**
   * Deliveries recorded in memory whose `seen` record is not on disk yet, with the write that
   * makes it durable. A redelivery of one of them is acknowledged only once that write is; a
   * redelivery of anything older is acknowledged at once, without waiting on unrelated writes.
   */
  const pendingSeen = new Map<string, Promise<void>>();

  /** Resolves once every delivery the entries duplicate is durable. */
  const originalsDurable = (entries: readonly IngestEntry[]): Promise<unknown> | undefined => {
    const waits = new Set<Promise<void>>();
    for (const entry of entries) {
      const pending = pendingSeen.get(entry.signal.dedupKey);
      if (pending !== undefined) waits.add(pending);
    }
    return waits.size === 0 ? undefined : Promise.all(waits);
  };

  const store: FileStore = {
    name,
    dir: config.dir,
    get stats(): FileStoreStats {
      const journal = state?.writer.stats ?? { appends: 0, batches: 0, syncs: 0, bytes: 0 };
      return { ...journal, compactions: state?.compactor.compactions ?? 0 };
    },
    compact: () => run("compact", true, (open) => open.compactor.compact()),
    ingest: (entries: readonly IngestEntry[]) =>
      run("ingest", true, async (open) => {
        const { records, outcomes } = open.projection.planIngest(entries, now());
        // Opened and folded incidents are fresh objects (the projection keeps its own parsed
        // copy); only a duplicate's incident is the projection's own and must be copied, which
        // is done when it is first read: most callers of a redelivery never read it.
        const result = outcomes.map((outcome) =>
          outcome.disposition === "duplicate" && outcome.incident !== undefined
            ? duplicateOutcome(outcome.incident)
            : outcome,
        );
        // Nothing new (only duplicates): acknowledged once what they duplicate is on disk, which
        // is at once unless it was recorded a moment ago.
        if (records.length === 0) await originalsDurable(entries);
        else await write(open, records);
        return result;
      }),
    getIncident: (id: string) =>
      run("getIncident", false, (open) => {
        const incident = open.projection.getIncident(id);
        return incident === undefined ? undefined : copy(incident);
      }),
    listIncidents: (query?: IncidentQuery) =>
      run("listIncidents", false, (open) => copy(open.projection.listIncidents(query))),
    updateIncident: (
      incident: Incident,
      options: { expectedRevision: number; events?: readonly AuditEvent[] },
    ) =>
      run("updateIncident", true, async (open) => {
        const events = options.events ?? [];
        const planned = open.projection.planUpdate(incident, options.expectedRevision, events, name);
        const result = copy(planned.incident);
        await write(open, planned.records);
        return result;
      }),
    appendEvents: (events: readonly AuditEvent[]) =>
      run("appendEvents", true, async (open) => {
        if (events.length > 0) await write(open, [{ kind: "events", events }]);
      }),
    listEvents: (query?: EventQuery) =>
      run("listEvents", false, (open) => copy(open.projection.listEvents(query))),
    listActions: (query: { service?: string; since: string }) =>
      run("listActions", false, (open) => copy(open.projection.listActions(query))),
    async ready() {
      if (closing !== undefined) return false;
      const open = await opened.catch(() => undefined);
      return open !== undefined && open.writer.error === undefined && closing === undefined;
    },
    close() {
      closing ??= Promise.allSettled(active).then(() => closeState(opened, config.dir));
      return closing;
    },
  };
  return { store, opened };
}

/**
 * The outcome of a redelivery, its incident copied from the projection's own object on first
 * read. The projection never changes its objects in place (writes replace them), so the copy
 * is the incident as it was when the redelivery was recorded, whenever it is read.
 */
function duplicateOutcome(shared: Incident): IngestOutcome {
  let copied: Incident | undefined;
  return {
    disposition: "duplicate",
    get incident(): Incident {
      copied ??= structuredClone(shared);
      return copied;
    },
  };
}

function resolveConfig(settings: FileStoreSettings): FileStoreConfig {
  const dir = resolve(settings.dir);
  return {
    dir,
    name: `file:${dir}`,
    fsync: settings.fsync ?? true,
    compactAfterBytes: settings.compactAfterBytes ?? 64 * 1024 * 1024,
    now: settings.now ?? (() => new Date()),
    logger: settings.logger ?? silentLogger,
  };
}

/** Lock the folder, rebuild the state (snapshot and journals), and open the journal for appending. */
async function openState(
  config: FileStoreConfig,
  hooks: Pick<CompactorSettings, "mayStart" | "started">,
): Promise<OpenState> {
  const { dir, logger, fsync } = config;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new StoreError(`cannot create ${dir}: ${describeError(cause)}`, {
      adapter,
      operation: "open",
      cause,
    });
  }
  const lock = await lockFolder(dir, logger);
  try {
    const { projection, gen, bytes } = await loadFolder(dir, logger);
    let compactions: Compactor | undefined;
    const writer = new JournalWriter(await openJournal(dir, gen, fsync), {
      fsync,
      bytes,
      failed: (cause) =>
        new StoreError(
          `cannot write journal ${join(dir, journalName(compactions?.gen ?? gen))}: ${describeError(cause)}`,
          {
            adapter,
            operation: "write",
            cause,
          },
        ),
      flushed: () => compactions?.compactIfDue(),
    });
    compactions = compactor({
      ...hooks,
      dir,
      fsync,
      logger,
      limit: config.compactAfterBytes,
      projection,
      writer,
      gen,
    });
    return { projection, writer, compactor: compactions, lock };
  } catch (cause) {
    await lock.release();
    if (SelfHealError.isInstance(cause)) throw cause;
    throw new StoreError(`cannot open the store in ${dir}: ${describeError(cause)}`, {
      adapter,
      operation: "open",
      cause,
    });
  }
}

/** Wait for pending writes, sync and close the journal, release the lock. */
async function closeState(opened: Promise<OpenState>, dir: string): Promise<void> {
  const open = await opened.catch(() => undefined);
  if (open === undefined) return;
  try {
    await open.writer.close();
  } catch (cause) {
    throw new StoreError(`cannot close the journal in ${dir}: ${describeError(cause)}`, {
      adapter,
      operation: "close",
      cause,
    });
  } finally {
    await open.lock.release();
  }
}
