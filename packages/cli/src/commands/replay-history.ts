import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { readFileStore, type Store, StoreError } from "@selfheal/core";
import type { SelfhealConfig } from "../config/selfheal-config.js";

/** How far back history is copied: the longest look-back a rule has (quarantine: 30 days). */
const lookBackMs = 30 * 86_400_000;

/**
 * Copy the configured store's recent audit events into `into` (the replay's memory store), so
 * that history-based rules (rollback limits, cooldowns, quarantine) decide as in production.
 * The configured store is only read: a file store's folder is read without its lock and nothing
 * is written to it. Returns how many events were copied.
 */
export async function seedHistory(
  config: SelfhealConfig,
  baseDir: string,
  into: Store,
  now: Date,
): Promise<number> {
  const file = config.store.file;
  if (file === undefined) {
    throw new StoreError(
      "replay --history reads a file store (store.file); for PostgreSQL, export the decision input and use selfheal policy eval",
    );
  }
  const dir = resolve(baseDir, file.dir);
  if (!existsSync(dir)) throw new StoreError(`no state folder at ${dir}`);
  const source = await readFileStore(dir);
  try {
    const events = await source.listEvents({ since: new Date(now.getTime() - lookBackMs).toISOString() });
    await into.appendEvents(events);
    return events.length;
  } finally {
    await source.close();
  }
}
