import {
  type AuditEvent,
  type Claim,
  describeError,
  type EventQuery,
  type Incident,
  type IncidentQuery,
  type IngestEntry,
  SelfHealError,
  type Store,
  StoreConflictError,
  StoreError,
} from "@selfheal/core";
import { checkFence, releaseClaim, takeClaim } from "./claims.js";
import { eventAppender } from "./event-appender.js";
import { insertEvents, touchesActions } from "./events.js";
import { ingestEntries } from "./ingest.js";
import { ingestBatcher } from "./ingest-batcher.js";
import { migrate } from "./migrations.js";
import {
  adapter,
  type PostgresConfig,
  type PostgresStoreSettings,
  resolveConfig,
} from "./postgres-settings.js";
import { type QuarantineRegistry, quarantineRegistry } from "./quarantine-registry.js";
import { getIncident, listActions, listEvents, listIncidents } from "./reads.js";
import { type Connection, createRunner, isTransient } from "./runner.js";

/** A store on PostgreSQL: claims, readiness and the quarantine registry included. */
export interface PostgresStore extends Store {
  /** The schema its tables live in. */
  readonly schema: string;
  /**
   * Take `resource` for `owner` for `ttlMs`, or renew it (same token) while `owner` holds it,
   * on the database's clock. `undefined` while another owner holds it.
   */
  claim(resource: string, owner: string, ttlMs: number): Promise<Claim | undefined>;
  /** Give a claim up now; does nothing when it is no longer held. Its token is never reused. */
  releaseClaim(claim: Claim): Promise<void>;
  /** Whether the schema is set up and the database answers now. */
  ready(): Promise<boolean>;
  /** Versions that must not be deployed again for a while, shared by every replica. */
  readonly quarantine: QuarantineRegistry;
}

/**
 * A store on PostgreSQL, for several controller replicas sharing one database. Setting up the
 * schema (migrations) starts at once; every method waits for it, and a failed start is tried
 * again by the next call. `openPostgresStore` waits for it up front and throws there.
 *
 * @example `store: postgresStore({ connectionString: process.env.DATABASE_URL })`
 */
export function postgresStore(settings: PostgresStoreSettings): PostgresStore {
  return createPostgresStore(settings).store;
}

/** `postgresStore`, resolved once the database is reached and the schema is up to date. */
export async function openPostgresStore(settings: PostgresStoreSettings): Promise<PostgresStore> {
  const { store, open } = createPostgresStore(settings);
  await open();
  return store;
}

function createPostgresStore(settings: PostgresStoreSettings): {
  store: PostgresStore;
  open: () => Promise<void>;
} {
  const config = resolveConfig(settings);
  const { pool, tables, name } = config;
  const runner = createRunner(config);
  // An idle connection that breaks emits 'error' on the pool; unheard, it would end the process.
  if (config.ownsPool)
    pool.on("error", (error) =>
      config.logger.warn("idle PostgreSQL connection failed", { store: name, error: describeError(error) }),
    );

  let opening: Promise<void> | undefined;
  const open = (): Promise<void> => {
    opening ??= runner
      .transaction("open", (connection) => migrate(connection, tables, config.schema))
      .then(
        () => undefined,
        (error: unknown) => {
          opening = undefined;
          const failure = openError(config, error);
          config.logger.error("PostgreSQL store cannot open", { store: name, error: failure.message });
          throw failure;
        },
      );
    return opening;
  };
  // Start at once; a failure is reported by the calls that wait for it.
  open().catch(() => {});

  let closing: Promise<void> | undefined;
  const active = new Set<Promise<unknown>>();
  const call = <T>(operation: string, body: () => Promise<T>): Promise<T> => {
    if (closing !== undefined)
      return Promise.reject(new StoreError(`${name} is closed`, { adapter, operation, retryable: false }));
    const running = open().then(body);
    active.add(running);
    const done = () => active.delete(running);
    running.then(done, done);
    return running;
  };
  const read = <T>(operation: string, body: (connection: Connection) => Promise<T>) =>
    call(operation, () => runner.read(operation, body));
  const write = <T>(operation: string, body: (connection: Connection) => Promise<T>) =>
    call(operation, () => runner.transaction(operation, body));

  const appender = eventAppender(runner, tables, { inFlight: 4, maxEvents: 1000 });
  const ingests = ingestBatcher(
    (entries) => write("ingest", (connection) => ingestEntries(connection, tables, entries, config.now())),
    { inFlight: 2, maxEntries: 500 },
  );

  const store: PostgresStore = {
    name,
    schema: config.schema,
    quarantine: quarantineRegistry(runner, tables, call),
    ingest: (entries: readonly IngestEntry[]) => ingests.ingest(entries),
    getIncident: (id: string) => read("getIncident", (connection) => getIncident(connection, tables, id)),
    listIncidents: (query?: IncidentQuery) =>
      read("listIncidents", (connection) => listIncidents(connection, tables, query)),
    updateIncident: (
      incident: Incident,
      options: { expectedRevision: number; events?: readonly AuditEvent[]; fence?: Claim },
    ) =>
      write("updateIncident", async (connection) => {
        const { fence, expectedRevision } = options;
        if (fence !== undefined)
          await checkFence(connection, tables, fence, { incidentId: incident.id, storeName: name });
        // What is stored, as it will be read back (undefined fields gone): also the caller's copy.
        const doc = JSON.stringify({ ...incident, revision: expectedRevision + 1 });
        const next = JSON.parse(doc) as Incident;
        const updated = await connection
          .query(
            `UPDATE ${tables.incidents}
                SET key = $3, service = $4, state = $5, revision = $6, opened_at = $7::timestamptz,
                    closed_at = $8::timestamptz, doc = $9::jsonb,
                    write_seq = nextval('${tables.schema}.incident_writes')
              WHERE id = $1 AND revision = $2`,
            [
              next.id,
              expectedRevision,
              next.key,
              next.service,
              next.state,
              next.revision,
              next.openedAt,
              next.closedAt ?? null,
              doc,
            ],
          )
          .catch((error: unknown) => {
            // The unique open-incident-per-key index: another incident of the key is open.
            if ((error as { code?: unknown }).code === "23505")
              throw conflict(`incident ${next.id}: another incident with key ${next.key} is open`, next.id);
            throw error;
          });
        if (updated.rowCount === 0) {
          const current = await connection.query<{ revision: number }>(
            `SELECT revision FROM ${tables.incidents} WHERE id = $1`,
            [next.id],
          );
          const row = current.rows[0];
          throw conflict(
            row === undefined
              ? `incident ${next.id} does not exist`
              : `incident ${next.id} is at revision ${row.revision}, not ${expectedRevision}`,
            next.id,
          );
        }
        await insertEvents(connection, tables, options.events ?? []);
        return next;
      }),
    appendEvents: (events: readonly AuditEvent[]) => {
      if (events.length === 0) return call("appendEvents", async () => {});
      // Events that change no action are one INSERT, atomic on its own, shared with concurrent calls.
      if (!touchesActions(events)) return call("appendEvents", () => appender.append(events));
      return write("appendEvents", (connection) => insertEvents(connection, tables, events));
    },
    listEvents: (query?: EventQuery) =>
      read("listEvents", (connection) => listEvents(connection, tables, query)),
    listActions: (query: { service?: string; since: string }) =>
      read("listActions", (connection) => listActions(connection, tables, query)),
    claim: (resource: string, owner: string, ttlMs: number) =>
      call("claim", () =>
        runner.statement("claim", (connection) =>
          takeClaim(connection, runner.prepared, tables, resource, owner, ttlMs),
        ),
      ),
    releaseClaim: (claim: Claim) =>
      call("releaseClaim", () =>
        runner.statement("releaseClaim", (connection) =>
          releaseClaim(connection, runner.prepared, tables, claim),
        ),
      ),
    async ready() {
      if (closing !== undefined) return false;
      try {
        await open();
        await pool.query("SELECT 1");
        return closing === undefined;
      } catch {
        return false;
      }
    },
    close() {
      closing ??= Promise.allSettled(active).then(async () => {
        if (config.ownsPool) await pool.end();
      });
      return closing;
    },
  };
  return { store, open };

  function conflict(message: string, incidentId: string): StoreConflictError {
    return new StoreConflictError(`${name}: ${message}`, {
      adapter,
      operation: "updateIncident",
      incidentId,
    });
  }
}

/** Why the store could not start, naming the database (never the password). */
function openError(config: PostgresConfig, error: unknown): StoreError {
  const cause = SelfHealError.isInstance(error) && error.cause !== undefined ? error.cause : error;
  const reason = describeError(cause);
  const message = isTransient(cause)
    ? `cannot reach PostgreSQL at ${config.target}: ${reason}`
    : `cannot set up schema ${config.schema} in PostgreSQL at ${config.target}: ${reason}`;
  return new StoreError(message, { adapter, operation: "open", cause, retryable: isTransient(cause) });
}
