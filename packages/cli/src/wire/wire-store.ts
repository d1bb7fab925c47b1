import { resolve } from "node:path";
import { fileStore, type Store, toMs } from "@selfheal/core";
import { postgresStore } from "@selfheal/store-postgres";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { definedOnly } from "./defined-only.js";

/** The store of `store`; relative folders are taken from `baseDir` (the config file's folder). */
export function wireStore(config: SelfhealConfig["store"], baseDir: string): Store {
  if (config.postgres !== undefined) {
    const postgres = config.postgres;
    return postgresStore(
      definedOnly({
        connectionString: postgres.connectionString,
        schema: postgres.schema,
        poolSize: postgres.poolSize,
        statementTimeoutMs:
          postgres.statementTimeout === undefined
            ? undefined
            : toMs(postgres.statementTimeout, "store.postgres.statementTimeout"),
      }),
    );
  }
  const file = config.file ?? { dir: ".selfheal", fsync: true };
  return fileStore({ dir: resolve(baseDir, file.dir), fsync: file.fsync });
}
