import type { StoreError } from "../errors/selfheal-error.js";

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
 * `switchTo` moves on to a new journal file between two batches (for compaction).
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
  /** The drain loop, while it runs. */
  private drained: Promise<void> | undefined;
  /** A switch to another journal, waiting for the batch before it to be written. */
  private pendingSwitch: Switch | undefined;
  private failure: StoreError | undefined;
  private counters = { appends: 0, batches: 0, syncs: 0, bytes: 0 };
  /** Bytes in the current journal file. */
  private sinkBytes: number;

  constructor(
    private sink: JournalSink,
    private readonly options: {
      /** Whether to sync each batch. */
      readonly fsync: boolean;
      /** The error every caller gets once the journal has failed (names the file). */
      readonly failed: (cause: unknown) => StoreError;
      /** Bytes the journal held before this writer (a reopened journal). @default 0 */
      readonly bytes?: number;
      /** Called after each batch is written (and synced). */
      readonly flushed?: () => void;
    },
  ) {
    this.sinkBytes = options.bytes ?? 0;
  }

  get stats(): JournalStats {
    return { ...this.counters };
  }

  /** The size of the current journal file, as far as this writer knows it. */
  get journalBytes(): number {
    return this.sinkBytes;
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
    this.startDrain();
    return this.next.promise;
  }

  /**
   * Move on to another journal: what was appended before this call goes to the current one,
   * which is then synced (whatever the `fsync` setting) and closed; what is appended after it
   * goes to the sink `open` gives. Resolves once that sink is in use; rejects, failing the
   * journal, if any step fails. One switch at a time.
   */
  switchTo(open: () => Promise<JournalSink>): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.pendingSwitch !== undefined) return Promise.reject(new Error("a journal switch is under way"));
    const done = deferred();
    this.pendingSwitch = { text: this.queue.join(""), batch: this.takeBatch(), open, done };
    this.queue = [];
    this.startDrain();
    return done.promise;
  }

  /** Resolves once everything appended so far is durable; rejects if the journal failed. */
  settled(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return this.next?.promise ?? this.pendingSwitch?.batch?.promise ?? this.inFlight ?? Promise.resolve();
  }

  /** Wait for pending writes (and a switch under way), sync, close the sink. */
  async close(): Promise<void> {
    try {
      while (this.drained !== undefined) await this.drained;
      if (this.failure === undefined) await this.sink.sync();
    } finally {
      await this.sink.close();
    }
  }

  private startDrain(): void {
    // Start on the next microtask, so writes made in the same turn share the first batch too.
    this.drained ??= Promise.resolve().then(() => this.drain());
  }

  private async drain(): Promise<void> {
    for (;;) {
      const change = this.pendingSwitch;
      if (change !== undefined) {
        await this.switchSink(change);
        continue;
      }
      const batch = this.takeBatch();
      if (batch === undefined) break;
      const text = this.queue.join("");
      this.queue = [];
      this.inFlight = batch.promise;
      try {
        await this.writeText(text);
        if (this.options.fsync) await this.syncSink();
        batch.resolve();
      } catch (cause) {
        this.fail(cause, batch);
        continue;
      }
      try {
        this.options.flushed?.();
      } catch {
        // A listener's failure is not the journal's.
      }
    }
    this.inFlight = undefined;
    this.drained = undefined;
  }

  private async switchSink(change: Switch): Promise<void> {
    this.inFlight = change.batch?.promise;
    try {
      if (change.text !== "") await this.writeText(change.text);
      await this.syncSink();
      change.batch?.resolve();
      const old = this.sink;
      this.sink = closedSink;
      await old.close();
      this.sink = await change.open();
      this.sinkBytes = 0;
      this.pendingSwitch = undefined;
      change.done.resolve();
    } catch (cause) {
      this.fail(cause, change.batch);
    }
  }

  private async writeText(text: string): Promise<void> {
    await this.sink.write(text);
    const bytes = Buffer.byteLength(text);
    this.counters.batches++;
    this.counters.bytes += bytes;
    this.sinkBytes += bytes;
  }

  private async syncSink(): Promise<void> {
    await this.sink.sync();
    this.counters.syncs++;
  }

  /** Fail the journal for good: the given batch, what queued, and a switch under way. */
  private fail(cause: unknown, batch: Deferred | undefined): void {
    const failure = this.failure ?? this.options.failed(cause);
    this.failure = failure;
    batch?.reject(failure);
    this.takeBatch()?.reject(failure);
    this.queue = [];
    const change = this.pendingSwitch;
    this.pendingSwitch = undefined;
    change?.batch?.reject(failure);
    change?.done.reject(failure);
  }

  /** The batch collected so far, which a new append will no longer join. */
  private takeBatch(): Deferred | undefined {
    const batch = this.next;
    this.next = undefined;
    return batch;
  }
}

/** A switch to another journal file. */
interface Switch {
  /** What was appended before the switch: the last write to the old journal. */
  readonly text: string;
  readonly batch: Deferred | undefined;
  readonly open: () => Promise<JournalSink>;
  readonly done: Deferred;
}

/** The sink between closing one journal and opening the next: nothing goes there. */
const closedSink: JournalSink = {
  write: () => Promise.reject(new Error("the journal is closed")),
  sync: () => Promise.reject(new Error("the journal is closed")),
  close: () => Promise.resolve(),
};

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
