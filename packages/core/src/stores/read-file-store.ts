import { describeError, StoreError } from "../errors/selfheal-error.js";
import type { Store } from "../spec/store.js";
import { type Logger, silentLogger } from "../util/logger.js";
import { loadFolder } from "./journal-folder.js";

/**
 * A read-only view of a file store's folder as it is now, without taking its lock: for
 * `selfheal audit` and dashboards while the controller that owns the folder keeps running.
 * Nothing in the folder is changed (a write under way at the journal's end is left unread).
 * The view does not follow later writes: open it again to see them. Every write method
 * rejects with a `StoreError`.
 */
export async function readFileStore(dir: string, options: { readonly logger?: Logger } = {}): Promise<Store> {
  const logger = options.logger ?? silentLogger;
  let loaded: Awaited<ReturnType<typeof loadFolder>> | undefined;
  // A compaction by the owner may remove a journal between listing and reading: try again.
  for (let attempt = 1; loaded === undefined; attempt++) {
    try {
      loaded = await loadFolder(dir, logger, { readOnly: true });
    } catch (cause) {
      if (attempt >= 3) {
        throw new StoreError(`cannot read the store in ${dir}: ${describeError(cause)}`, {
          adapter: "file-store",
          operation: "read",
          cause,
        });
      }
    }
  }
  const { projection } = loaded;
  const refuse = async (): Promise<never> => {
    throw new StoreError(`the store in ${dir} is open read-only`, {
      adapter: "file-store",
      operation: "write",
      retryable: false,
    });
  };
  return {
    name: `file:${dir} (read-only)`,
    ingest: refuse,
    updateIncident: refuse,
    appendEvents: refuse,
    getIncident: async (id) => projection.getIncident(id),
    listIncidents: async (query) => projection.listIncidents(query),
    listEvents: async (query) => projection.listEvents(query),
    listActions: async (query) => projection.listActions(query),
    close: async () => undefined,
  };
}
