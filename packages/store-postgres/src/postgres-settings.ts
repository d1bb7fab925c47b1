import { BadInputError, type Logger, silentLogger } from "@selfheal/core";
import pg from "pg";

/** Settings of `postgresStore`. Give `connectionString` or `pool`. */
export interface PostgresStoreSettings {
  /**
   * Where the database is (`postgres://user@host:5432/db`); the libpq variables (`PGHOST`,
   * `PGPORT`, ...) fill in what it leaves out. Ignored when `pool` is given.
   */
  readonly connectionString?: string;
  /**
   * A pool of your own (shared with other code, or with TLS settings we do not expose). The
   * store never ends it: `close()` leaves it to you. `poolSize`, `connectionTimeoutMs` and
   * `statementTimeoutMs` do not apply to it.
   */
  readonly pool?: pg.Pool;
  /** The schema every table lives in; created if missing. @default "selfheal" */
  readonly schema?: string;
  /** Connections the store's own pool may open. @default 10 */
  readonly poolSize?: number;
  /** How long to wait for a connection (to open one, or for a free one). @default 5000 */
  readonly connectionTimeoutMs?: number;
  /** Longest a statement may run before the server cancels it. @default 15000 */
  readonly statementTimeoutMs?: number;
  /**
   * How many times a write that failed on a lost connection is tried again, when it is known
   * not to have committed. @default 3
   */
  readonly writeRetries?: number;
  /** Clock for incident and signal times, for tests (claims use the database's clock). @default () => new Date() */
  readonly now?: () => Date;
  /** Name for logs and errors. @default "postgres:<host>:<port>/<database>/<schema>" */
  readonly name?: string;
  /** Where failures to open and broken idle connections are reported. @default silentLogger */
  readonly logger?: Logger;
}

/** What the store works with, settings resolved. */
export interface PostgresConfig {
  readonly pool: pg.Pool;
  /** Whether the store made the pool (and so ends it on close). */
  readonly ownsPool: boolean;
  readonly schema: string;
  readonly tables: Tables;
  readonly target: string;
  readonly name: string;
  readonly writeRetries: number;
  readonly now: () => Date;
  readonly logger: Logger;
}

/** Qualified, quoted names of the store's tables. */
export interface Tables {
  readonly schema: string;
  readonly migrations: string;
  readonly incidents: string;
  readonly keys: string;
  readonly seen: string;
  readonly events: string;
  readonly actions: string;
  readonly claims: string;
  readonly quarantine: string;
  readonly auditView: string;
}

export const adapter = "postgres";

// Names go into SQL text (schemas cannot be bound parameters): allow plain identifiers only.
const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

export function resolveConfig(settings: PostgresStoreSettings): PostgresConfig {
  const schema = settings.schema ?? "selfheal";
  if (!schemaPattern.test(schema)) {
    throw new BadInputError(`schema ${JSON.stringify(schema)} must be a lower-case SQL identifier`, {
      adapter,
      operation: "configure",
      path: "schema",
    });
  }
  if (
    settings.pool === undefined &&
    settings.connectionString === undefined &&
    process.env.PGHOST === undefined
  ) {
    throw new BadInputError("give connectionString or pool (or set PGHOST)", {
      adapter,
      operation: "configure",
      path: "connectionString",
    });
  }
  const pool =
    settings.pool ??
    new pg.Pool({
      ...(settings.connectionString === undefined ? {} : { connectionString: settings.connectionString }),
      max: settings.poolSize ?? 10,
      connectionTimeoutMillis: settings.connectionTimeoutMs ?? 5000,
      statement_timeout: settings.statementTimeoutMs ?? 15_000,
      application_name: "selfheal",
    });
  const target = describeTarget(settings.pool?.options ?? { connectionString: settings.connectionString });
  return {
    pool,
    ownsPool: settings.pool === undefined,
    schema,
    tables: tablesOf(schema),
    target,
    name: settings.name ?? `postgres:${target}/${schema}`,
    writeRetries: settings.writeRetries ?? 3,
    now: settings.now ?? (() => new Date()),
    logger: settings.logger ?? silentLogger,
  };
}

function tablesOf(schema: string): Tables {
  const q = `"${schema}"`;
  return {
    schema: q,
    migrations: `${q}.schema_migrations`,
    incidents: `${q}.incidents`,
    keys: `${q}.incident_keys`,
    seen: `${q}.signals_seen`,
    events: `${q}.audit_events`,
    actions: `${q}.actions`,
    claims: `${q}.claims`,
    quarantine: `${q}.quarantined_versions`,
    auditView: `${q}.self_heal_actions`,
  };
}

/**
 * `host:port/database`, never the user's password: for error messages and the store's name.
 * Follows what pg does: the connection string first, then the pool options, then libpq's
 * environment variables.
 */
function describeTarget(options: pg.PoolConfig): string {
  let fromUrl: { host?: string; port?: string; database?: string } = {};
  if (options.connectionString !== undefined) {
    try {
      const url = new URL(options.connectionString);
      fromUrl = {
        host: url.searchParams.get("host") ?? (decodeURIComponent(url.hostname) || undefined),
        port: url.port || undefined,
        database: decodeURIComponent(url.pathname.slice(1)) || undefined,
      } as { host?: string; port?: string; database?: string };
    } catch {
      // Not a URL (a libpq "key=value" string): fall back to the options and environment.
    }
  }
  const env = process.env;
  const host = fromUrl.host ?? options.host ?? env.PGHOST ?? "localhost";
  const port = fromUrl.port ?? options.port ?? env.PGPORT ?? 5432;
  const database = fromUrl.database ?? options.database ?? env.PGDATABASE ?? options.user ?? env.PGUSER ?? "";
  return `${host}:${port}/${database}`;
}
