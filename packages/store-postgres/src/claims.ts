import { type Claim, StoreFencedError } from "@selfheal/core";
import { adapter, type Tables } from "./postgres-settings.js";
import type { Connection, Runner } from "./runner.js";

interface ClaimRow {
  resource: string;
  owner: string;
  token: string;
  expires_at: Date;
}

const toClaim = (row: ClaimRow): Claim => ({
  resource: row.resource,
  owner: row.owner,
  token: Number(row.token),
  expiresAt: row.expires_at.toISOString(),
});

/**
 * Take or renew a claim in one statement, on the database's clock (replicas' clocks may
 * disagree; the database's is the one every replica reads). A new holder, or the same owner
 * coming back after its claim lapsed, gets the next token; a renewal keeps it. The row is
 * never deleted, so tokens of a resource only grow.
 */
export async function takeClaim(
  connection: Connection,
  prepared: Runner["prepared"],
  tables: Tables,
  resource: string,
  owner: string,
  ttlMs: number,
): Promise<Claim | undefined> {
  const result = await connection.query<ClaimRow>(
    prepared(
      `INSERT INTO ${tables.claims} AS c (resource, owner, token, expires_at)
     VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
     ON CONFLICT (resource) DO UPDATE SET
       owner = EXCLUDED.owner,
       token = CASE WHEN c.owner = EXCLUDED.owner AND c.expires_at > clock_timestamp()
                    THEN c.token ELSE c.token + 1 END,
       expires_at = EXCLUDED.expires_at
     WHERE c.expires_at <= clock_timestamp() OR c.owner = EXCLUDED.owner
     RETURNING resource, owner, token, expires_at`,
      [resource, owner, ttlMs],
    ),
  );
  const row = result.rows[0];
  return row === undefined ? undefined : toClaim(row);
}

/** End a claim now if it is still this one; the row (and its token) stays. */
export async function releaseClaim(
  connection: Connection,
  prepared: Runner["prepared"],
  tables: Tables,
  claim: Claim,
): Promise<void> {
  await connection.query(
    prepared(
      `UPDATE ${tables.claims} SET expires_at = clock_timestamp()
        WHERE resource = $1 AND owner = $2 AND token = $3 AND expires_at > clock_timestamp()`,
      [claim.resource, claim.owner, claim.token],
    ),
  );
}

/**
 * Check, in the caller's transaction, that `fence` is still the current claim of its resource,
 * and keep it so until commit: `FOR SHARE` makes a takeover wait for this transaction, so a
 * write that passed the check cannot land after another holder started.
 */
export async function checkFence(
  connection: Connection,
  tables: Tables,
  fence: Claim,
  context: { readonly incidentId: string; readonly storeName: string },
): Promise<void> {
  const result = await connection.query<{ owner: string; token: string; live: boolean }>(
    `SELECT owner, token, expires_at > clock_timestamp() AS live
       FROM ${tables.claims} WHERE resource = $1 FOR SHARE`,
    [fence.resource],
  );
  const row = result.rows[0];
  const why =
    row === undefined
      ? "was never taken"
      : Number(row.token) !== fence.token || row.owner !== fence.owner
        ? `is now held by ${row.owner} with token ${row.token}`
        : row.live
          ? undefined
          : "has expired";
  if (why === undefined) return;
  throw new StoreFencedError(
    `${context.storeName}: claim ${fence.resource} (token ${fence.token}, owner ${fence.owner}) ${why}`,
    { adapter, operation: "updateIncident", incidentId: context.incidentId },
  );
}
