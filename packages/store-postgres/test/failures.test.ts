import { createServer } from "node:net";
import { SelfHealError, StoreConflictError, StoreError } from "@selfheal/core";
import { makeEntry, makeSignal } from "@selfheal/core/testing";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { openPostgresStore, postgresStore, StoreOutcomeUnknownError } from "../src/index.js";
import { databaseUrl, dropSchemas, uniqueSchema } from "./helpers.js";

const schemas: string[] = [];
afterAll(() => dropSchemas(...schemas));

/** A port nothing listens on: bound once by us, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error("expected the call to reject");
    },
    (error: unknown) => error,
  );

describe("an unreachable database", () => {
  it("fails the start with an error naming host, port and database, never the password", async () => {
    const port = await closedPort();
    const settings = {
      connectionString: `postgres://selfheal:s3cret-pw@127.0.0.1:${port}/audit`,
      writeRetries: 1,
      connectionTimeoutMs: 1000,
    };
    const error = await rejection(openPostgresStore(settings));
    expect(error).toBeInstanceOf(StoreError);
    const storeError = error as StoreError;
    expect(storeError.message).toContain(`cannot reach PostgreSQL at 127.0.0.1:${port}/audit`);
    expect(storeError).toMatchObject({ adapter: "postgres", operation: "open", retryable: true });
    expect(JSON.stringify(storeError.toJSON())).not.toContain("s3cret-pw");
    expect(storeError.message).not.toContain("s3cret-pw");

    const logged: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn() {},
      error: (message: string, fields?: Record<string, unknown>) => {
        logged.push(`${message} ${JSON.stringify(fields)}`);
      },
    };
    const store = postgresStore({ ...settings, logger });
    try {
      expect(store.name).toBe(`postgres:127.0.0.1:${port}/audit/selfheal`);
      expect(await store.ready()).toBe(false);
      const failed = await rejection(store.ingest([makeEntry(makeSignal())]));
      expect(SelfHealError.isInstance(failed) && failed.message).toContain("cannot reach PostgreSQL");
    } finally {
      await store.close();
    }
    expect(await store.ready()).toBe(false);
    expect(logged.length).toBeGreaterThan(0);
    expect(logged[0]).toContain(`cannot reach PostgreSQL at 127.0.0.1:${port}/audit`);
    expect(logged.join("\n")).not.toContain("s3cret-pw");
  });
});

describe("transient failures", () => {
  it("retries a write whose connection could not be had, and reports other errors with context", async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    const realConnect = pool.connect.bind(pool);
    let failures = 0;
    // The first two connections of the write fail as a restarting server makes them fail.
    const flaky = async () => {
      if (failures < 2) {
        failures++;
        throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
      }
      return realConnect();
    };
    try {
      const store = await openPostgresStore({ pool, schema });
      Object.assign(pool, { connect: flaky });
      const [outcome] = await store.ingest([makeEntry(makeSignal())]);
      expect(outcome?.disposition).toBe("opened");
      expect(failures).toBe(2);

      const error = await rejection(
        store.appendEvents([
          { id: "e1", at: "not a time", type: "circuit.opened", actor: "test", message: "bad time" },
        ]),
      );
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toMatchObject({ adapter: "postgres", operation: "appendEvents", retryable: false });
      expect((error as Error).cause).toBeDefined();
      await store.close();
      // pool.query() calls connect() with a callback, which the stand-in does not take.
      Reflect.deleteProperty(pool, "connect");
      // The pool was given: the store leaves it open for its owner.
      expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });
});

describe("a connection lost during COMMIT", () => {
  it("is reported as an unknown outcome and not retried", async () => {
    const schema = uniqueSchema();
    schemas.push(schema);
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    try {
      const store = await openPostgresStore({ pool, schema });
      const [outcome] = await store.ingest([makeEntry(makeSignal())]);
      const incident = outcome?.incident;
      if (incident === undefined) throw new Error("no incident");
      const realConnect = pool.connect.bind(pool);
      let commits = 0;
      // The COMMIT reaches the server and commits; the answer is lost on the way back.
      const cutAfterCommit = async () => {
        const client = await realConnect();
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        Object.assign(client, {
          query: async (text: unknown, ...rest: unknown[]) => {
            const result = await query(text, ...rest);
            if (text === "COMMIT") {
              commits++;
              throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
            }
            return result;
          },
        });
        return client;
      };
      Object.assign(pool, { connect: cutAfterCommit });
      const error = await rejection(
        store.updateIncident({ ...incident, state: "deciding" }, { expectedRevision: 1 }),
      );
      expect(error).toBeInstanceOf(StoreOutcomeUnknownError);
      expect(error).toMatchObject({ adapter: "postgres", operation: "updateIncident", retryable: false });
      expect(commits).toBe(1);
      Reflect.deleteProperty(pool, "connect");
      // It did land: re-reading shows it, and doing it again is a conflict, not a second write.
      expect(await store.getIncident(incident.id)).toMatchObject({ state: "deciding", revision: 2 });
      const again = await rejection(
        store.updateIncident({ ...incident, state: "deciding" }, { expectedRevision: 1 }),
      );
      expect(again).toBeInstanceOf(StoreConflictError);
      await store.close();
    } finally {
      await pool.end();
    }
  });
});
