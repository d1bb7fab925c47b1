import { cp, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreError } from "../src/errors/selfheal-error.js";
import type { Incident } from "../src/spec/incident.js";
import type { Signal } from "../src/spec/signal.js";
import { type FileStore, type FileStoreSettings, openFileStore } from "../src/stores/file-store.js";
import { type JournalSink, JournalWriter } from "../src/stores/journal-writer.js";
import { makeEntry, makeEvent, makeSignal } from "../src/testing/fixtures.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "selfheal-compaction-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const epoch = new Date(0).toISOString();
const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 0, minute)).toISOString();
/** A fixed clock: incidents opened one after the other share their openedAt. */
const now = () => new Date(at(0));
const open = (settings: Partial<FileStoreSettings> = {}) => openFileStore({ dir, now, ...settings });

/** The store's files, without the lock. */
async function files(folder = dir): Promise<string[]> {
  return (await readdir(folder)).filter((name) => name !== "lock").sort();
}

/** Everything a reader can see, including the indexes by incident and by service. */
async function everything(store: FileStore) {
  const incidents = await store.listIncidents();
  const services = [...new Set(incidents.map((incident) => incident.service))].sort();
  return {
    incidents,
    events: await store.listEvents(),
    actions: await store.listActions({ since: epoch }),
    byIncident: await Promise.all(incidents.map((incident) => store.listEvents({ incidentId: incident.id }))),
    byService: await Promise.all(services.map((service) => store.listEvents({ service }))),
  };
}

/**
 * Writes of every kind: incidents opened, folded, closed and reopened under the same key (with
 * the same openedAt), events out of time order, actions that end in different ways.
 */
async function writeHistory(store: FileStore, from = 0): Promise<Signal[]> {
  const signals: Signal[] = [];
  const ingest = async (signal: Signal) => {
    signals.push(signal);
    return (await store.ingest([makeEntry(signal)]))[0]?.incident as Incident;
  };
  for (let index = from; index < from + 5; index++) {
    const service = `service-${index % 3}`;
    const incident = await ingest(
      makeSignal({ service, fingerprint: `f${String(index).padStart(15, "0")}` }),
    );
    const key = `${incident.id}/rollback`;
    await store.appendEvents([
      makeEvent({
        type: "remediation.started",
        at: at(10 + index),
        idempotencyKey: key,
        ...target(incident),
      }),
      // Out of time order, and a second ending that must not count.
      makeEvent({ type: "remediation.failed", at: at(5), idempotencyKey: key, ...target(incident) }),
      makeEvent({ type: "remediation.cancelled", at: at(20), idempotencyKey: key, ...target(incident) }),
    ]);
    const closed = await store.updateIncident(
      { ...incident, state: "resolved", closedAt: at(30) },
      { expectedRevision: incident.revision },
    );
    // The same alert again opens a new incident under the key, at the same (fixed) time...
    const again = await ingest(
      makeSignal({ service, fingerprint: incident.fingerprint, startsAt: at(40 + index) }),
    );
    // ...then the closed one is written again, after it.
    await store.updateIncident(
      { ...closed, details: { note: "looked at" } },
      { expectedRevision: closed.revision },
    );
    await ingest(makeSignal({ service, fingerprint: again.fingerprint, startsAt: at(50 + index) }));
    // An older incident of the key written after a newer one: it is now the key's latest.
    const second = (await store.getIncident(again.id)) as Incident;
    await store.updateIncident(
      { ...second, details: { note: "again" } },
      { expectedRevision: second.revision },
    );
  }
  return signals;
}

const target = (incident: Incident) => ({
  incidentId: incident.id,
  service: incident.service,
  action: "rollback" as const,
});

/** Every signal redelivered is a duplicate. */
async function expectDuplicates(store: FileStore, signals: readonly Signal[]): Promise<void> {
  const outcomes = await store.ingest(signals.map((signal) => makeEntry(signal)));
  expect(outcomes.map((outcome) => outcome.disposition)).toEqual(signals.map(() => "duplicate"));
}

describe("compacting the file store", () => {
  it("leaves one snapshot and one journal that reopen to the same state", async () => {
    const store = await open();
    const signals = await writeHistory(store);
    const before = await everything(store);
    // The same folder uncompacted, to compare with.
    const uncompacted = await mkdtemp(join(tmpdir(), "selfheal-compaction-"));
    await cp(join(dir, "journal-00000001.ndjson"), join(uncompacted, "journal-00000001.ndjson"));
    await store.compact();
    expect(store.stats.compactions).toBe(1);
    expect(await files()).toEqual(["journal-00000002.ndjson", "snapshot-00000001.ndjson"]);
    expect(await everything(store)).toEqual(before);
    await store.close();

    const reopened = await open();
    expect(await everything(reopened)).toEqual(before);
    await expectDuplicates(reopened, signals);
    // New signals of every key go where they go in the uncompacted store.
    const plain = await openFileStore({ dir: uncompacted, now });
    try {
      for (const signal of signals) {
        const next = makeEntry(
          makeSignal({ service: signal.service, fingerprint: signal.fingerprint, startsAt: at(99) }),
        );
        const [compacted] = await reopened.ingest([next]);
        const [expected] = await plain.ingest([next]);
        expect({ disposition: compacted?.disposition, id: compacted?.incident?.id }).toEqual({
          disposition: expected?.disposition,
          id: expected?.incident?.id,
        });
      }
    } finally {
      await plain.close();
      await rm(uncompacted, { recursive: true, force: true });
    }
    await reopened.close();
  });

  it("loses no write made while it runs", async () => {
    const store = await open();
    await writeHistory(store);
    const events = Array.from({ length: 300 }, (_, index) =>
      makeEvent({ type: "notification.sent", message: `event ${index}`, at: at(100 + (index % 7)) }),
    );
    const writes: Promise<unknown>[] = [];
    let compaction: Promise<void> | undefined;
    for (const [index, event] of events.entries()) {
      writes.push(store.appendEvents([event]));
      if (index % 50 === 0) writes.push(store.ingest([makeEntry(makeSignal({ service: `busy-${index}` }))]));
      if (index === 100) compaction = store.compact();
      if (index % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all([...writes, compaction]);
    const before = await everything(store);
    await store.close();
    const reopened = await open();
    expect(await everything(reopened)).toEqual(before);
    expect(await reopened.listEvents({ types: ["notification.sent"] })).toHaveLength(300);
    expect((await reopened.listIncidents()).filter((i) => i.service.startsWith("busy-"))).toHaveLength(6);
    await reopened.close();
  });

  it("runs on its own past compactAfterBytes and keeps the journal small", async () => {
    const limit = 20_000;
    const store = await open({ compactAfterBytes: limit });
    let largest = 0;
    for (let index = 0; index < 500; index++) {
      await store.ingest([makeEntry(makeSignal({ service: `service-${index}` }))]);
      const journals = (await files()).filter((name) => name.startsWith("journal"));
      for (const name of journals) {
        // A compaction running meanwhile may remove it.
        const size = (await stat(join(dir, name)).catch(() => undefined))?.size ?? 0;
        largest = Math.max(largest, size);
      }
      expect(journals.length).toBeLessThanOrEqual(2);
    }
    expect(store.stats.compactions).toBeGreaterThan(10);
    // Writes go on while a compaction runs, into the next journal, so a journal may pass the
    // limit by what was written meanwhile: more on a loaded machine, where compacting is slow.
    // Bounded all the same: 500 ingests without compaction come to well over 10 times the limit.
    expect(largest).toBeLessThan(4 * limit);
    const before = await everything(store);
    await store.close();
    const reopened = await open({ compactAfterBytes: limit });
    expect(await everything(reopened)).toEqual(before);
    expect(await reopened.listIncidents()).toHaveLength(500);
    await reopened.close();
  });

  it("runs on open when the journal is already past compactAfterBytes", async () => {
    const store = await open();
    await writeHistory(store);
    const before = await everything(store);
    await store.close();
    const reopened = await open({ compactAfterBytes: 1000 });
    // Compaction runs in the background: wait for it (vitest's 1 s default is short on a loaded machine).
    await expect.poll(() => reopened.stats.compactions, { timeout: 20_000 }).toBe(1);
    expect(await everything(reopened)).toEqual(before);
    await reopened.close();
    expect(await files()).toEqual(["journal-00000002.ndjson", "snapshot-00000001.ndjson"]);
  });

  describe("a crash at any point opens to the same state", () => {
    /** The files of each step of two compactions, and the state they hold. */
    async function steps() {
      const store = await open();
      const signals = await writeHistory(store);
      const journal1 = await readFile(join(dir, "journal-00000001.ndjson"));
      await store.compact();
      signals.push(...(await writeHistory(store, 10)));
      const snapshot1 = await readFile(join(dir, "snapshot-00000001.ndjson"));
      const journal2 = await readFile(join(dir, "journal-00000002.ndjson"));
      // What a crash in the first compaction leaves: no later writes.
      const first = await everything(store);
      await store.compact();
      await store.appendEvents([makeEvent({ type: "circuit.opened" })]);
      const snapshot2 = await readFile(join(dir, "snapshot-00000002.ndjson"));
      const journal3 = await readFile(join(dir, "journal-00000003.ndjson"));
      const second = await everything(store);
      await store.close();
      return { signals, first, second, journal1, snapshot1, journal2, snapshot2, journal3 };
    }

    it.each([
      [
        "the switch to journal 2 made, no snapshot yet",
        (s: Steps) => ({ "journal-00000001.ndjson": s.journal1, "journal-00000002.ndjson": s.journal2 }),
      ],
      [
        "half of snapshot 1 written",
        (s: Steps) => ({
          "journal-00000001.ndjson": s.journal1,
          "snapshot-00000001.ndjson.tmp": s.snapshot1.subarray(0, s.snapshot1.length >> 1),
          "journal-00000002.ndjson": s.journal2,
        }),
      ],
      [
        "snapshot 1 written, not renamed",
        (s: Steps) => ({
          "journal-00000001.ndjson": s.journal1,
          "snapshot-00000001.ndjson.tmp": s.snapshot1,
          "journal-00000002.ndjson": s.journal2,
        }),
      ],
      [
        "snapshot 1 renamed, journal 1 not removed",
        (s: Steps) => ({
          "journal-00000001.ndjson": s.journal1,
          "snapshot-00000001.ndjson": s.snapshot1,
          "journal-00000002.ndjson": s.journal2,
        }),
      ],
      [
        "snapshot 1 done",
        (s: Steps) => ({ "snapshot-00000001.ndjson": s.snapshot1, "journal-00000002.ndjson": s.journal2 }),
      ],
      [
        "the switch to journal 3 made",
        (s: Steps) => ({
          "snapshot-00000001.ndjson": s.snapshot1,
          "journal-00000002.ndjson": s.journal2,
          "journal-00000003.ndjson": s.journal3,
        }),
      ],
      [
        "half of snapshot 2 written",
        (s: Steps) => ({
          "snapshot-00000001.ndjson": s.snapshot1,
          "journal-00000002.ndjson": s.journal2,
          "snapshot-00000002.ndjson.tmp": s.snapshot2.subarray(0, 100),
          "journal-00000003.ndjson": s.journal3,
        }),
      ],
      [
        "snapshot 2 renamed, nothing removed",
        (s: Steps) => ({
          "snapshot-00000001.ndjson": s.snapshot1,
          "journal-00000002.ndjson": s.journal2,
          "snapshot-00000002.ndjson": s.snapshot2,
          "journal-00000003.ndjson": s.journal3,
        }),
      ],
      [
        "snapshot 2 in place, snapshot 1 removed, journal 2 not",
        (s: Steps) => ({
          "journal-00000002.ndjson": s.journal2,
          "snapshot-00000002.ndjson": s.snapshot2,
          "journal-00000003.ndjson": s.journal3,
        }),
      ],
    ])("%s", async (step, layout) => {
      const built = await steps();
      await rm(dir, { recursive: true, force: true });
      const crashed = await mkdtemp(join(tmpdir(), "selfheal-compaction-"));
      dir = crashed;
      for (const [name, content] of Object.entries(layout(built))) await writeFile(join(dir, name), content);
      const state = step.includes("journal 3") || step.includes("snapshot 2") ? built.second : built.first;
      const store = await open();
      expect(await everything(store)).toEqual(state);
      await expectDuplicates(store, built.signals);
      await store.close();
      expect((await files()).some((name) => name.endsWith(".tmp"))).toBe(false);
      // And compacting from here, and reopening, changes nothing.
      const again = await open();
      await again.compact();
      await again.close();
      const last = await open();
      expect(await everything(last)).toEqual(state);
      await last.close();
    });
  });

  it("opens a journal.ndjson from before generations, and compacts it away", async () => {
    const store = await open();
    const signals = await writeHistory(store);
    await store.close();
    await rename(join(dir, "journal-00000001.ndjson"), join(dir, "journal.ndjson"));

    const legacy = await open();
    await legacy.appendEvents([makeEvent({ type: "circuit.opened" })]);
    const before = await everything(legacy);
    await legacy.close();
    expect(await files()).toEqual(["journal.ndjson"]);

    const reopened = await open();
    expect(await everything(reopened)).toEqual(before);
    await expectDuplicates(reopened, signals);
    await reopened.compact();
    await reopened.close();
    expect(await files()).toEqual(["journal-00000001.ndjson", "snapshot-00000000.ndjson"]);
    const compacted = await open();
    expect(await everything(compacted)).toEqual(before);
    await compacted.close();
  });

  it("refuses a journal that is not the newest and ends in an unfinished write, naming it", async () => {
    const store = await open();
    await writeHistory(store);
    await store.close();
    const journal1 = join(dir, "journal-00000001.ndjson");
    const lines = (await readFile(journal1, "utf8")).split("\n").slice(0, 5);
    await writeFile(journal1, `${lines.join("\n")}\n`);
    await writeFile(join(dir, "journal-00000002.ndjson"), "");
    const error = await open().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toContain(journal1);
    expect((error as StoreError).message).toContain("line 5");
  });

  it("refuses a folder with a journal missing after the snapshot", async () => {
    const store = await open();
    await writeHistory(store);
    await store.compact();
    await store.appendEvents([makeEvent({ type: "circuit.opened" })]);
    await store.compact();
    await store.close();
    await rename(join(dir, "snapshot-00000002.ndjson"), join(dir, "snapshot-00000001.ndjson"));
    await expect(open()).rejects.toThrow(/journal-00000002\.ndjson is missing/);
  });
});

type Steps = {
  readonly journal1: Buffer;
  readonly snapshot1: Buffer;
  readonly journal2: Buffer;
  readonly snapshot2: Buffer;
  readonly journal3: Buffer;
};

describe("JournalWriter.switchTo", () => {
  function recordingSink(name: string, calls: string[]): JournalSink {
    return {
      write: async (text) => {
        calls.push(`${name} write ${text}`);
      },
      sync: async () => {
        calls.push(`${name} sync`);
      },
      close: async () => {
        calls.push(`${name} close`);
      },
    };
  }

  it("sends what came before the switch to the old journal, synced and closed, and the rest to the new", async () => {
    const calls: string[] = [];
    const writer = new JournalWriter(recordingSink("a", calls), {
      fsync: false,
      failed: (cause) => new StoreError("cannot write", { cause }),
    });
    const first = writer.append("1\n");
    const switched = writer.switchTo(async () => recordingSink("b", calls));
    const second = writer.append("2\n");
    expect(writer.settled()).toBe(second);
    await Promise.all([first, switched, second]);
    await writer.close();
    expect(calls).toEqual(["a write 1\n", "a sync", "a close", "b write 2\n", "b sync", "b close"]);
    expect(writer.journalBytes).toBe(2);
  });
});
