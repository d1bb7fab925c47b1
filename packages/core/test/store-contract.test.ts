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
