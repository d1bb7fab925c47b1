import { testStoreContract } from "@selfheal/core/testing";
import { postgresStore } from "../src/index.js";
import { databaseUrl, dropSchemas, uniqueSchema } from "./helpers.js";

testStoreContract("postgres", async () => {
  const schema = uniqueSchema();
  const settings = { connectionString: databaseUrl, schema, poolSize: 4 };
  let store = postgresStore(settings);
  return {
    store,
    reopen: async () => {
      await store.close();
      store = postgresStore(settings);
      return store;
    },
    cleanup: () => dropSchemas(schema),
  };
});
