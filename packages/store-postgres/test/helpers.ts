import { randomBytes } from "node:crypto";
import pg from "pg";

/** The test database: PostgreSQL on this machine, unless SELFHEAL_TEST_PG_URL says otherwise. */
export const databaseUrl = process.env.SELFHEAL_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A schema name no other test run uses. */
export function uniqueSchema(): string {
  return `selfheal_test_${process.pid}_${randomBytes(4).toString("hex")}`;
}

/** Drop test schemas, with everything in them. */
export async function dropSchemas(...schemas: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Run one query on a connection of its own. */
export async function query<Row extends pg.QueryResultRow>(
  text: string,
  values: unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}
