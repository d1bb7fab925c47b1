import { spawnSync } from "node:child_process";
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreError } from "../src/errors/selfheal-error.js";
import { fileStore, openFileStore } from "../src/stores/file-store.js";
import { type JournalSink, JournalWriter } from "../src/stores/journal-writer.js";
import { makeEntry, makeEvent, makeSignal } from "../src/testing/fixtures.js";
import type { LogFields, Logger } from "../src/util/logger.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "selfheal-file-store-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const journal = () => join(dir, "journal-00000001.ndjson");

function recordingLogger(): Logger & { readonly warnings: { message: string; fields?: LogFields }[] } {
  const warnings: { message: string; fields?: LogFields }[] = [];
  const ignore = () => {};
  return {
    warnings,
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (message, fields) => warnings.push(fields === undefined ? { message } : { message, fields }),
  };
}

/** What a rejected promise rejected with. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected the call to reject");
    },
    (error: unknown) => error,
  );
}

/** A journal with one opened incident and one event in it; the store is closed. */
async function writeSome(): Promise<{ incidentId: string; bytes: number }> {
  const store = await openFileStore({ dir });
  const entry = makeEntry(makeSignal());
  await store.ingest([entry]);
  await store.appendEvents([makeEvent({ type: "circuit.opened" })]);
  await store.close();
  return { incidentId: entry.newIncidentId, bytes: (await stat(journal())).size };
}

describe("fileStore", () => {
  it("takes a folder as a plain string, creates it, and names itself after it", async () => {
    const nested = join(dir, "state", "selfheal");
    const store = fileStore(nested);
    expect(store.name).toBe(`file:${nested}`);
    expect(await store.ready?.()).toBe(true);
    await store.ingest([makeEntry(makeSignal())]);
    await store.close();
    expect((await stat(join(nested, "journal-00000001.ndjson"))).size).toBeGreaterThan(0);
  });

  it("writes one JSON record per line, each write ending with a commit line", async () => {
    await writeSome();
    const lines = (await readFile(journal(), "utf8")).split("\n");
    expect(lines.pop()).toBe("");
    const kinds = lines.map((line) => (JSON.parse(line) as { kind: string }).kind);
    // ingest: seen, incident, events, commit; appendEvents: events, commit.
    expect(kinds).toEqual(["seen", "incident", "events", "commit", "events", "commit"]);
  });

  describe("opening a journal", () => {
    it("cuts off a torn last line, keeps what came before, and says how many bytes it dropped", async () => {
      const { incidentId, bytes } = await writeSome();
      const torn = '{"kind":"events","events":[{"id":"half';
      await appendFile(journal(), torn);
      const logger = recordingLogger();
      const store = await openFileStore({ dir, logger });
      expect(await store.getIncident(incidentId)).toMatchObject({ id: incidentId, revision: 1 });
      expect(await store.listEvents({ types: ["circuit.opened"] })).toHaveLength(1);
      expect((await stat(journal())).size).toBe(bytes);
      expect(logger.warnings).toHaveLength(1);
      expect(logger.warnings[0]?.fields).toMatchObject({
        journal: journal(),
        bytes: Buffer.byteLength(torn),
      });

      // Writes after the cut land on a clean line.
      await store.appendEvents([makeEvent({ type: "circuit.reset" })]);
      await store.close();
      const reopened = await openFileStore({ dir });
      expect(await reopened.listEvents({ types: ["circuit.reset"] })).toHaveLength(1);
      await reopened.close();
    });

    it("cuts off a last line that does not parse", async () => {
      const { bytes } = await writeSome();
      await appendFile(journal(), "\0\0\0\0\n");
      const store = await openFileStore({ dir, logger: recordingLogger() });
      expect((await stat(journal())).size).toBe(bytes);
      await store.close();
    });

    it("drops a write whose commit line never made it, all of it", async () => {
      const { bytes } = await writeSome();
      // The complete records of an ingest, as a crash after them but before the commit leaves them.
      const other = await mkdtemp(join(tmpdir(), "selfheal-file-store-"));
      const source = await openFileStore({ dir: other });
      const lost = makeEntry(makeSignal({ service: "payments" }));
      await source.ingest([lost]);
      await source.close();
      const lines = (await readFile(join(other, "journal-00000001.ndjson"), "utf8")).trimEnd().split("\n");
      await rm(other, { recursive: true, force: true });
      expect(lines.pop()).toBe('{"kind":"commit"}');
      await appendFile(journal(), `${lines.join("\n")}\n`);

      const logger = recordingLogger();
      const store = await openFileStore({ dir, logger });
      expect(await store.getIncident(lost.newIncidentId)).toBeUndefined();
      // Not even the dedupKey: a redelivery opens the incident.
      expect((await store.ingest([lost]))[0]?.disposition).toBe("opened");
      await store.close();
      expect(logger.warnings[0]?.fields).toMatchObject({ lines: lines.length });
      expect((await stat(journal())).size).toBeGreaterThan(bytes);
    });

    it("refuses a journal with a bad line in the middle, naming the file and the line", async () => {
      await writeSome();
      const lines = (await readFile(journal(), "utf8")).split("\n");
      lines.splice(1, 0, "this is not json");
      await writeFile(journal(), lines.join("\n"));
      const error = await rejection(openFileStore({ dir }));
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).message).toContain(journal());
      expect((error as StoreError).message).toContain("line 2");

      // The synchronous factory reports the same failure from every method.
      const store = fileStore(dir);
      expect(await store.ready?.()).toBe(false);
      expect(await rejection(store.listIncidents())).toBeInstanceOf(StoreError);
      await store.close();
      // And leaves the folder unlocked, for a fixed journal.
      await expect(stat(join(dir, "lock"))).rejects.toThrow();
    });
  });

  describe("durability", () => {
    it("shares fsyncs between concurrent writes (group commit)", async () => {
      const store = await openFileStore({ dir });
      const events = Array.from({ length: 200 }, (_, index) =>
        makeEvent({ type: "notification.sent", message: `event ${index}` }),
      );
      await Promise.all(events.map((event) => store.appendEvents([event])));
      expect(store.stats.appends).toBe(200);
      expect(store.stats.syncs).toBeGreaterThanOrEqual(1);
      expect(store.stats.syncs).toBeLessThan(20);
      expect(store.stats.batches).toBe(store.stats.syncs);
      await store.close();
      const reopened = await openFileStore({ dir });
      expect(await reopened.listEvents()).toEqual(events);
      await reopened.close();
    });

    it("resolves a duplicate delivery only once the delivery it repeats is on disk", async () => {
      const store = await openFileStore({ dir });
      const entry = makeEntry(makeSignal());
      const first = store.ingest([entry]);
      // Not awaited in between: the first delivery is recorded in memory but not yet synced.
      const duplicate = store.ingest([entry]).then((outcomes) => ({ outcomes, syncs: store.stats.syncs }));
      const { outcomes, syncs } = await duplicate;
      expect(outcomes[0]?.disposition).toBe("duplicate");
      expect(syncs).toBe(1);
      expect((await first)[0]?.disposition).toBe("opened");
      await store.close();
    });

    it("resolves a duplicate of a delivery already on disk without waiting for later writes", async () => {
      const store = await openFileStore({ dir });
      const entry = makeEntry(makeSignal());
      await store.ingest([entry]);
      const syncsBefore = store.stats.syncs;
      // An unrelated write on its way to disk: the duplicate has nothing to wait for in it.
      const unrelated = store.appendEvents([makeEvent({ type: "circuit.opened" })]);
      const { outcomes, syncs } = await store
        .ingest([entry])
        .then((answer) => ({ outcomes: answer, syncs: store.stats.syncs }));
      expect(outcomes[0]?.disposition).toBe("duplicate");
      expect(syncs).toBe(syncsBefore);
      await unrelated;
      expect(store.stats.syncs).toBe(syncsBefore + 1);
      await store.close();
    });

    it("finishes pending writes on close", async () => {
      const store = await openFileStore({ dir });
      const event = makeEvent({ type: "circuit.opened" });
      const written = store.appendEvents([event]);
      await store.close();
      await written;
      const reopened = await openFileStore({ dir });
      expect(await reopened.listEvents()).toEqual([event]);
      await reopened.close();
    });

    it("rejects every call after close, and says it is not ready", async () => {
      const store = await openFileStore({ dir });
      await store.close();
      for (const call of [
        store.getIncident("x"),
        store.listIncidents(),
        store.listEvents(),
        store.listActions({ since: "2030-01-01T00:00:00.000Z" }),
        store.ingest([makeEntry(makeSignal())]),
        store.appendEvents([makeEvent({ type: "circuit.opened" })]),
      ]) {
        const error = await rejection(call);
        expect(error).toBeInstanceOf(StoreError);
        expect((error as StoreError).message).toMatch(/closed/);
      }
      expect(await store.ready?.()).toBe(false);
      await store.close();
    });
  });

  describe("the folder lock", () => {
    const lockFile = () => join(dir, "lock");

    it("refuses a folder locked by a live process", async () => {
      await writeFile(lockFile(), `${process.ppid}\n`);
      const error = await rejection(openFileStore({ dir }));
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).message).toBe(`${dir} is in use by process ${process.ppid}`);
      expect(await readFile(lockFile(), "utf8")).toBe(`${process.ppid}\n`);
    });

    it("refuses a second store on the folder in the same process, until the first closes", async () => {
      const first = await openFileStore({ dir });
      const error = await rejection(openFileStore({ dir }));
      expect((error as StoreError).message).toContain(`in use by process ${process.pid}`);
      await first.close();
      await expect(stat(lockFile())).rejects.toThrow();
      const second = await openFileStore({ dir });
      await second.close();
    });

    it("takes over the lock of a process that is gone", async () => {
      const gone = spawnSync(process.execPath, ["-e", ""]).pid;
      await writeFile(lockFile(), `${gone}\n`);
      const logger = recordingLogger();
      const store = await openFileStore({ dir, logger });
      expect(logger.warnings).toEqual([
        { message: expect.stringMatching(/lock/), fields: { lock: lockFile(), pid: gone } },
      ]);
      expect((await readFile(lockFile(), "utf8")).split("\n")[0]).toBe(String(process.pid));
      await store.close();
    });

    it("takes over a lock left by an earlier process with this pid (a restarted container)", async () => {
      await writeFile(lockFile(), `${process.pid}\n0\n`);
      const store = await openFileStore({ dir, logger: recordingLogger() });
      await store.close();
    });

    it("refuses a lock file without a pid, rather than guess", async () => {
      await writeFile(lockFile(), "");
      const error = await rejection(openFileStore({ dir }));
      expect((error as StoreError).message).toContain("holds no process id");
    });
  });
});

describe("JournalWriter", () => {
  /** A sink whose writes and syncs finish when the test says so. */
  function manualSink() {
    const calls: string[] = [];
    const waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
    const pending = (call: string) => {
      calls.push(call);
      return new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
    };
    const sink: JournalSink = {
      write: (text) => pending(`write ${text}`),
      sync: () => pending("sync"),
      close: async () => {},
    };
    const next = async () => {
      await new Promise((resolve) => setImmediate(resolve));
      const call = waiting.shift();
      if (call === undefined) throw new Error("no call is waiting");
      return call;
    };
    return { sink, calls, next };
  }
  const failed = (cause: unknown) => new StoreError("cannot write journal test", { cause });

  it("writes what queued during a write with one write and one sync", async () => {
    const { sink, calls, next } = manualSink();
    const writer = new JournalWriter(sink, { fsync: true, failed });
    const done: string[] = [];
    const a = writer.append("a\n").then(() => done.push("a"));
    (await next()).resolve(); // write a
    const b = writer.append("b\n").then(() => done.push("b"));
    const c = writer.append("c\n").then(() => done.push("c"));
    expect(done).toEqual([]);
    (await next()).resolve(); // sync a
    await a;
    expect(done).toEqual(["a"]);
    (await next()).resolve(); // write b + c
    (await next()).resolve(); // sync b + c
    await Promise.all([b, c]);
    expect(calls).toEqual(["write a\n", "sync", "write b\nc\n", "sync"]);
    expect(writer.stats).toEqual({ appends: 3, batches: 2, syncs: 2, bytes: 6 });
  });

  it("fails for good when a sync fails: the batch, what queued, and every later write", async () => {
    const { sink, next } = manualSink();
    const writer = new JournalWriter(sink, { fsync: true, failed });
    const a = writer.append("a\n");
    (await next()).resolve(); // write a
    const b = writer.append("b\n");
    (await next()).reject(new Error("EIO")); // sync a
    for (const promise of [a, b, writer.append("c\n"), writer.settled()]) {
      const error = await rejection(promise);
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).retryable).toBe(true);
    }
    expect(writer.error?.message).toBe("cannot write journal test");
  });

  it("settles once everything appended so far is durable", async () => {
    const { sink, next } = manualSink();
    const writer = new JournalWriter(sink, { fsync: true, failed });
    await writer.settled();
    void writer.append("a\n");
    let settled = false;
    const waiting = writer.settled().then(() => {
      settled = true;
    });
    (await next()).resolve(); // write
    expect(settled).toBe(false);
    (await next()).resolve(); // sync
    await waiting;
    expect(settled).toBe(true);
  });
});
