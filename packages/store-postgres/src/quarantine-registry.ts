import type { Tables } from "./postgres-settings.js";
import type { Runner } from "./runner.js";

/** A version of a service that must not be deployed again until `until` (it failed). */
export interface QuarantinedVersion {
  readonly service: string;
  /** The image (or chart version) refused, as the manifests name it. */
  readonly image: string;
  /** When the quarantine ends. */
  readonly until: string;
  /** The incident that put it there, if any. */
  readonly incidentId?: string;
  /** When it was first put there. */
  readonly addedAt: string;
}

/**
 * A queryable record of quarantined versions in the database, for dashboards and SQL. Nothing
 * in selfheal reads it to decide: the GitOps remediator reads the repository's quarantine file,
 * and the controller reads `quarantine.added` audit events. Lapsed entries are not listed.
 */
export interface QuarantineRegistry {
  /** Quarantine a version until `until`; an entry already there keeps the later end. */
  add(entry: {
    readonly service: string;
    readonly image: string;
    readonly until: string;
    readonly incidentId?: string;
  }): Promise<QuarantinedVersion>;
  /** Versions quarantined now (by the database's clock), for one service or all. */
  list(query?: { readonly service?: string }): Promise<QuarantinedVersion[]>;
  /** End quarantines now: one version, or every version of the service. Resolves how many ended. */
  expire(query: { readonly service: string; readonly image?: string }): Promise<number>;
}

interface Row {
  service: string;
  image: string;
  until: Date;
  incident_id: string | null;
  added_at: Date;
}

const toVersion = (row: Row): QuarantinedVersion => ({
  service: row.service,
  image: row.image,
  until: row.until.toISOString(),
  ...(row.incident_id === null ? {} : { incidentId: row.incident_id }),
  addedAt: row.added_at.toISOString(),
});

/** Runs a call of the store: waits until it is open, refuses once it is closed. */
type Guard = <T>(operation: string, body: () => Promise<T>) => Promise<T>;

export function quarantineRegistry(runner: Runner, tables: Tables, guard: Guard): QuarantineRegistry {
  const columns = "service, image, until, incident_id, added_at";
  return {
    add: (entry) =>
      guard("quarantine.add", () =>
        runner.transaction("quarantine.add", async (connection) => {
          const result = await connection.query<Row>(
            `INSERT INTO ${tables.quarantine} AS q (service, image, until, incident_id)
             VALUES ($1, $2, $3::timestamptz, $4)
             ON CONFLICT (service, image) DO UPDATE SET
               until = GREATEST(q.until, EXCLUDED.until),
               incident_id = COALESCE(EXCLUDED.incident_id, q.incident_id)
             RETURNING ${columns}`,
            [entry.service, entry.image, entry.until, entry.incidentId ?? null],
          );
          return toVersion(result.rows[0] as Row);
        }),
      ),
    list: (query = {}) =>
      guard("quarantine.list", () =>
        runner.read("quarantine.list", async (connection) => {
          const result = await connection.query<Row>(
            `SELECT ${columns} FROM ${tables.quarantine}
              WHERE until > now() AND ($1::text IS NULL OR service = $1)
              ORDER BY service, image`,
            [query.service ?? null],
          );
          return result.rows.map(toVersion);
        }),
      ),
    expire: (query) =>
      guard("quarantine.expire", () =>
        runner.transaction("quarantine.expire", async (connection) => {
          const result = await connection.query(
            `DELETE FROM ${tables.quarantine} WHERE service = $1 AND ($2::text IS NULL OR image = $2)`,
            [query.service, query.image ?? null],
          );
          return result.rowCount ?? 0;
        }),
      ),
  };
}
