import { appendFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { openFileStore, readFileStore, StoreError } from "../src/index.js";
import { makeEntry, makeSignal } from "../src/testing/index.js";
import { tempDir } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

it("reads a folder another store owns, without its lock, changing nothing, refusing writes", async () => {
  const { dir, cleanup } = await tempDir();
  cleanups.push(cleanup);
  const owner = await openFileStore({ dir, fsync: false });
  try {
    await owner.ingest([
      makeEntry(makeSignal({ service: "checkout" })),
      makeEntry(makeSignal({ service: "search" })),
    ]);
    // A write under way at the end of the journal: the reader must neither read nor cut it.
    const [journal] = (await readdir(dir)).filter((name) => name.startsWith("journal-"));
    const path = join(dir, journal ?? "");
    await appendFile(path, '{"partial":');
    const size = (await stat(path)).size;

    const view = await readFileStore(dir);
    expect((await view.listIncidents()).map((incident) => incident.service).sort()).toEqual([
      "checkout",
      "search",
    ]);
    expect(await view.listEvents({ types: ["incident.opened"] })).toHaveLength(2);
    await expect(view.appendEvents([])).rejects.toBeInstanceOf(StoreError);
    expect((await stat(path)).size).toBe(size);
    await view.close();
  } finally {
    await owner.close().catch(() => undefined);
  }
});
