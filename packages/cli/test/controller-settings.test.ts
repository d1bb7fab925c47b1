// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config files, whose ${VAR} is the feature under test
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { type AuditEvent, createController, type Store, silentLogger } from "@selfheal/core";
import { openPostgresStore } from "@selfheal/store-postgres";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { parseConfig, wireController } from "../src/index.js";

const payloadFile = new URL(
  "../../../../shared/contracts/alertmanager-webhook-example.json",
  import.meta.url,
);

/** The test database: PostgreSQL on this machine, unless SELFHEAL_TEST_PG_URL says otherwise. */
const databaseUrl = process.env.SELFHEAL_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A claim as the controller asked for it. */
interface ClaimCall {
  readonly resource: string;
  readonly owner: string;
  readonly ttlMs: number;
}

/**
 * The PostgreSQL store (a shared store: the controller takes its claim path) in a schema of
 * its own, with every claim the controller asks for recorded.
 */
async function claimingStore(calls: ClaimCall[], schema: string): Promise<Store> {
  const store = await openPostgresStore({ connectionString: databaseUrl, schema, poolSize: 4 });
  const claim = store.claim.bind(store);
  return Object.assign(store, {
    claim(resource: string, owner: string, ttlMs: number) {
      calls.push({ resource, owner, ttlMs });
      return claim(resource, owner, ttlMs);
    },
  });
}

/** Drop a test schema, with everything in it. */
async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

describe("the controller section", () => {
  it("names the replica (instanceId) in the audit trail and sets the claim TTL (claimTtl) of a shared store", async () => {
    const config = parseConfig(
      "policy: { builtin: {} }\ncontroller:\n  instanceId: ${POD_NAME}\n  claimTtl: 45s\n",
      "selfheal.yaml",
      { env: { POD_NAME: "selfheal-6f7c9d-x2k4p" } },
    );
    expect(config.controller).toMatchObject({ instanceId: "selfheal-6f7c9d-x2k4p", claimTtl: "45s" });

    const calls: ClaimCall[] = [];
    const schema = `selfheal_test_${process.pid}_${randomBytes(4).toString("hex")}`;
    const store = await claimingStore(calls, schema);
    let events: AuditEvent[];
    try {
      const wired = await wireController(config, {
        baseDir: ".",
        logger: silentLogger,
        store,
        sideEffects: false,
      });
      expect(wired.settings).toMatchObject({ instanceId: "selfheal-6f7c9d-x2k4p", claimTtl: "45s" });

      const controller = createController(wired.settings);
      try {
        const { url } = await controller.listen({ host: "127.0.0.1", port: 0 });
        const answer = await fetch(`${url}/webhook/alertmanager`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: await readFile(payloadFile, "utf8"),
        });
        expect(answer.status).toBe(200);
        await expect
          .poll(async () => (await store.listIncidents({ open: false })).length, { timeout: 20_000 })
          .toBeGreaterThan(0);
      } finally {
        // Closes the store too.
        await controller.close();
        await wired.close();
      }
      // Read back what the closed store wrote, through another store on its schema.
      const reader = await openPostgresStore({ connectionString: databaseUrl, schema, poolSize: 1 });
      try {
        events = await storedEvents(reader);
      } finally {
        await reader.close();
      }
    } finally {
      await store.close();
      await dropSchema(schema);
    }

    // Every claim is this replica's, for 45 s; the audit trail names it as the actor.
    const incidentClaims = calls.filter((call) => call.resource.startsWith("incident:"));
    expect(incidentClaims.length).toBeGreaterThan(0);
    expect(new Set(calls.map((call) => `${call.owner} ${call.ttlMs}`))).toEqual(
      new Set(["selfheal-6f7c9d-x2k4p 45000"]),
    );
    const actors = new Set(events.map((event) => event.actor));
    expect(actors).toEqual(new Set(["selfheal-6f7c9d-x2k4p"]));
  });

  it("refuses a claimTtl that is not a duration", () => {
    expect(() =>
      parseConfig("policy: { builtin: {} }\ncontroller: { claimTtl: soon }\n", "selfheal.yaml", { env: {} }),
    ).toThrow(/selfheal\.yaml:2:25 controller\.claimTtl: expected a duration/);
  });
});

async function storedEvents(store: Store) {
  const events = await store.listEvents();
  expect(events.length).toBeGreaterThan(0);
  return events;
}
