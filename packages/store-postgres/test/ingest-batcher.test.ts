import { type IngestEntry, type IngestOutcome, StoreError } from "@selfheal/core";
import { makeEntry, makeSignal } from "@selfheal/core/testing";
import { expect, it } from "vitest";
import { ingestBatcher } from "../src/ingest-batcher.js";

const entry = (dedupKey: string) => makeEntry(makeSignal({ dedupKey }));
const outcomeOf = (item: IngestEntry): IngestOutcome => ({
  disposition: "opened",
  incident: { id: item.signal.dedupKey } as IngestOutcome["incident"] & object,
});

/** A stand-in for the transaction: records each batch and waits until released. */
function fakeTransactions() {
  const batches: string[][] = [];
  const releases: (() => void)[] = [];
  const run = async (entries: readonly IngestEntry[]) => {
    batches.push(entries.map((item) => item.signal.dedupKey));
    await new Promise<void>((resolve) => releases.push(resolve));
    if (entries.some((item) => item.signal.dedupKey === "bad")) {
      throw new StoreError("refused: bad signal", { adapter: "postgres", retryable: false });
    }
    return entries.map(outcomeOf);
  };
  const releaseAll = async () => {
    while (releases.length > 0) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { batches, run, releaseAll };
}

it("records the calls that arrive while a transaction runs in one, and gives each call its own outcomes", async () => {
  const fake = fakeTransactions();
  const batcher = ingestBatcher(fake.run, { inFlight: 1, maxEntries: 100 });
  const first = batcher.ingest([entry("a")]);
  const second = batcher.ingest([entry("b"), entry("c")]);
  const third = batcher.ingest([entry("d")]);
  await new Promise((resolve) => setImmediate(resolve));
  expect(fake.batches).toEqual([["a"]]);
  await fake.releaseAll();
  const ids = async (call: Promise<IngestOutcome[]>) => (await call).map((outcome) => outcome.incident?.id);
  expect(await ids(first)).toEqual(["a"]);
  expect(await ids(second)).toEqual(["b", "c"]);
  expect(await ids(third)).toEqual(["d"]);
  expect(fake.batches).toEqual([["a"], ["b", "c", "d"]]);
});

it("tries the calls of a refused batch one by one, so one bad call fails alone", async () => {
  const fake = fakeTransactions();
  const batcher = ingestBatcher(fake.run, { inFlight: 1, maxEntries: 100 });
  const first = batcher.ingest([entry("a")]);
  const bad = batcher.ingest([entry("bad")]);
  const good = batcher.ingest([entry("e")]);
  const settled = Promise.allSettled([first, bad, good]);
  await fake.releaseAll();
  const [a, b, e] = await settled;
  expect(a).toMatchObject({ status: "fulfilled" });
  expect(b).toMatchObject({ status: "rejected", reason: { message: expect.stringContaining("bad signal") } });
  expect(e).toMatchObject({ status: "fulfilled", value: [{ incident: { id: "e" } }] });
  expect(fake.batches).toEqual([["a"], ["bad", "e"], ["bad"], ["e"]]);
});

it("keeps a batch within maxEntries", async () => {
  const fake = fakeTransactions();
  const batcher = ingestBatcher(fake.run, { inFlight: 1, maxEntries: 2 });
  const calls = ["a", "b", "c", "d"].map((key) => batcher.ingest([entry(key)]));
  await fake.releaseAll();
  await Promise.all(calls);
  expect(fake.batches).toEqual([["a"], ["b", "c"], ["d"]]);
});
