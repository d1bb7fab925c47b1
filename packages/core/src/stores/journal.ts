import { StoreError } from "../errors/selfheal-error.js";
import type { StoreRecord } from "./projection.js";

/**
 * The journal format: one JSON object per line. Each write of the store is its records, one
 * per line, then a commit line. Replay applies a write only once its commit line is read, so
 * a crash in the middle of a write leaves none of it (the Store contract: all or nothing),
 * even when the write's first records reached the disk.
 */
const commitLine = `${JSON.stringify({ kind: "commit" })}\n`;

/** The lines of one write, ready to append. */
export function encodeWrite(records: readonly StoreRecord[]): string {
  return encodeLines(records.map((record) => JSON.stringify(record)));
}

/** The journal text of a write whose records are already JSON lines. */
export function encodeLines(lines: readonly string[]): string {
  let text = "";
  for (const line of lines) text += `${line}\n`;
  return text + commitLine;
}

/** What reading a journal found. */
export interface JournalScan {
  /** Bytes up to the end of the last committed write: the journal is truncated to this. */
  readonly committedLength: number;
  /** Lines after it: an unfinished write (a crash mid-write). */
  readonly droppedLines: number;
}

/**
 * Read a journal, handing each committed record to `apply` in order. A torn end (a last line
 * without its newline or that does not parse, and records without their commit line) is left
 * out; a bad line anywhere else is corruption and throws a `StoreError` naming the line.
 */
export function scanJournal(bytes: Buffer, file: string, apply: (record: StoreRecord) => void): JournalScan {
  let committedLength = 0;
  let pending: StoreRecord[] = [];
  let pendingLines = 0;
  let lineNumber = 0;
  let start = 0;
  while (start < bytes.length) {
    const end = bytes.indexOf(0x0a, start);
    if (end === -1) {
      pendingLines++;
      break;
    }
    lineNumber++;
    const line = parseLine(bytes.toString("utf8", start, end));
    start = end + 1;
    if (line === undefined) {
      if (start === bytes.length) {
        pendingLines++;
        break;
      }
      throw new StoreError(`journal ${file} is corrupt at line ${lineNumber}: not a journal record`, {
        adapter: "file-store",
        operation: "open",
        retryable: false,
      });
    }
    if (line.kind === "commit") {
      for (const record of pending) apply(record);
      pending = [];
      pendingLines = 0;
      committedLength = start;
    } else {
      pending.push(line);
      pendingLines++;
    }
  }
  return { committedLength, droppedLines: pendingLines };
}

type JournalLine = StoreRecord | { readonly kind: "commit" };

/** The line as a record, or undefined when it is not one. Checks the shape replay relies on. */
function parseLine(text: string): JournalLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const line = value as Record<string, unknown>;
  switch (line.kind) {
    case "commit":
      return { kind: "commit" };
    case "seen":
      return typeof line.dedupKey === "string" &&
        (typeof line.incidentId === "string" || line.incidentId === null)
        ? (value as StoreRecord)
        : undefined;
    case "incident": {
      const incident = line.incident as Record<string, unknown> | null | undefined;
      return typeof incident === "object" && incident !== null && typeof incident.id === "string"
        ? (value as StoreRecord)
        : undefined;
    }
    case "events":
      return Array.isArray(line.events) ? (value as StoreRecord) : undefined;
    default:
      return undefined;
  }
}

/** Where the journal's bytes go: the open file, or a fake in tests. */
export interface JournalSink {
  /** Append all of `text`. */
  write(text: string): Promise<void>;
  /** Make what was written durable (fdatasync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** Counters of a journal writer, for tests and metrics. */
export interface JournalStats {
  /** Writes asked for (one per store write). */
  readonly appends: number;
  /** Batches written: one `write` call each. */
  readonly batches: number;
  /** `fsync` calls. */
  readonly syncs: number;
  /** Bytes written. */
  readonly bytes: number;
}

/**
 * Appends writes to the journal with group commit: while one batch is being written and
 * synced, new writes queue; then the whole queue goes out with one write and one sync. Under
 * load, many writes share one fsync instead of waiting for one each.
 *
 * After a failed write or sync the journal is failed for good: the file may end in a torn
 * batch, and only a restart (which replays and truncates it) can tell what is on disk.
 */
export class JournalWriter {
  private queue: string[] = [];
  /** The batch being collected, resolved once it is durable. */
  private next: Deferred | undefined;
  /** The batch being written. */
  private inFlight: Promise<void> | undefined;
  private draining = false;
  private failure: StoreError | undefined;
  private counters = { appends: 0, batches: 0, syncs: 0, bytes: 0 };

  constructor(
    private readonly sink: JournalSink,
    private readonly options: {
      /** Whether to sync each batch. */
      readonly fsync: boolean;
      /** The error every caller gets once the journal has failed (names the file). */
      readonly failed: (cause: unknown) => StoreError;
    },
  ) {}

  get stats(): JournalStats {
    return { ...this.counters };
  }

  /** The error that failed the journal, if it has. */
  get error(): StoreError | undefined {
    return this.failure;
  }

  /** Queue one write's text; resolves once it is written (and synced). */
  append(text: string): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    this.counters.appends++;
    this.queue.push(text);
    if (this.next === undefined) this.next = deferred();
    // Start on the next microtask, so writes made in the same turn share the first batch too.
    if (!this.draining) {
      this.draining = true;
      queueMicrotask(() => void this.drain());
    }
    return this.next.promise;
  }

  /** Resolves once everything appended so far is durable; rejects if the journal failed. */
  settled(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return this.next?.promise ?? this.inFlight ?? Promise.resolve();
  }

  /** Wait for pending writes, sync, close the sink. */
  async close(): Promise<void> {
    try {
      await this.settled().catch(() => undefined);
      if (this.failure === undefined) await this.sink.sync();
    } finally {
      await this.sink.close();
    }
  }

  private async drain(): Promise<void> {
    for (let batch = this.takeBatch(); batch !== undefined; batch = this.takeBatch()) {
      const text = this.queue.join("");
      this.queue = [];
      this.inFlight = batch.promise;
      try {
        await this.sink.write(text);
        this.counters.batches++;
        this.counters.bytes += Buffer.byteLength(text);
        if (this.options.fsync) {
          await this.sink.sync();
          this.counters.syncs++;
        }
        batch.resolve();
      } catch (cause) {
        const failure = this.options.failed(cause);
        this.failure = failure;
        batch.reject(failure);
        this.takeBatch()?.reject(failure);
        this.queue = [];
      }
    }
    this.inFlight = undefined;
    this.draining = false;
  }

  /** The batch collected so far, which a new append will no longer join. */
  private takeBatch(): Deferred | undefined {
    const batch = this.next;
    this.next = undefined;
    return batch;
  }
}

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve: () => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<void>((onResolve, onReject) => {
    resolve = onResolve;
    reject = onReject;
  });
  // A batch nobody waits on (everyone gave up) must not crash the process when it fails.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
