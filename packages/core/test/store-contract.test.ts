import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileStore } from "../src/stores/file-store.js";
import { memoryStore } from "../src/stores/memory-store.js";
import { testStoreContract } from "../src/testing/store-contract.js";

testStoreContract("memory", async () => ({ store: memoryStore() }));

testStoreContract("file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "selfheal-file-store-"));
  let store = fileStore({ dir });
  return {
    store,
    reopen: async () => {
      await store.close();
      store = fileStore({ dir });
      return store;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

// Compacting after every write to disk: snapshots and new journals while the contract runs.
testStoreContract("file, compacting", async () => {
  const dir = await mkdtemp(join(tmpdir(), "selfheal-file-store-"));
  let store = fileStore({ dir, compactAfterBytes: 1 });
  return {
    store,
    reopen: async () => {
      await store.close();
      if (store.stats.compactions === 0) throw new Error("the store never compacted");
      store = fileStore({ dir, compactAfterBytes: 1 });
      return store;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
