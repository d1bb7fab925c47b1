import { execFile, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPostgresStore, type PostgresStore } from "../src/index.js";
import { databaseUrl, dropSchemas, query, uniqueSchema } from "./helpers.js";

const repository = fileURLToPath(new URL("../../../", import.meta.url));
const child = fileURLToPath(new URL("./fixtures/ingest-child.mjs", import.meta.url));
const schema = uniqueSchema();
const raceSchema = uniqueSchema();

beforeAll(async () => {
  // The children run the built package: build it (incremental, quick when up to date).
  await promisify(execFile)("pnpm", ["exec", "tsc", "-b", "packages/store-postgres"], { cwd: repository });
}, 120_000);
afterAll(() => dropSchemas(schema, raceSchema));

interface ChildResult {
  readonly counts: Record<string, number>;
  readonly code: number | null;
  readonly stderr: string;
}

/** Start the children, let them open the store, then release them all at once. */
async function runChildren(count: number): Promise<ChildResult[]> {
  const children = Array.from({ length: count }, (_, index) =>
    spawn(process.execPath, [child], {
      env: { ...process.env, PG_URL: databaseUrl, SCHEMA: schema, CHILD: String(index) },
      stdio: ["pipe", "pipe", "pipe"],
    }),
  );
  const results = children.map(
    (process) =>
      new Promise<ChildResult & { ready: Promise<void> }>((resolve) => {
        let stdout = "";
        let stderr = "";
        process.stdout.setEncoding("utf8").on("data", (chunk: string) => {
          stdout += chunk;
        });
        process.stderr.setEncoding("utf8").on("data", (chunk: string) => {
          stderr += chunk;
        });
        process.on("close", (code) => {
          const last = stdout.trim().split("\n").at(-1) ?? "";
          const counts = last.startsWith("{") ? (JSON.parse(last) as Record<string, number>) : {};
          resolve({ counts, code, stderr, ready: Promise.resolve() });
        });
      }),
  );
  await Promise.all(
    children.map(
      (process) =>
        new Promise<void>((resolve, reject) => {
          const onData = (chunk: Buffer | string) => {
            if (String(chunk).includes("READY")) {
              process.stdout.off("data", onData);
              resolve();
            }
          };
          process.stdout.on("data", onData);
          process.on("close", () => reject(new Error("a child ended before it was ready")));
        }),
    ),
  );
  for (const process of children) process.stdin.end("go\n");
  return Promise.all(results);
}

describe("several processes", () => {
  it("ingesting the same 200 signals at once make one incident per key and no duplicates", async () => {
    const results = await runChildren(3);
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0 });
    const total = (disposition: string) =>
      results.reduce((sum, result) => sum + (result.counts[disposition] ?? 0), 0);
    expect({ opened: total("opened"), folded: total("folded"), duplicate: total("duplicate") }).toEqual({
      opened: 100,
      folded: 100,
      duplicate: 400,
    });

    let store: PostgresStore | undefined;
    try {
      store = await openPostgresStore({ connectionString: databaseUrl, schema });
      const incidents = await store.listIncidents();
      expect(incidents).toHaveLength(100);
      expect(new Set(incidents.map((incident) => incident.key)).size).toBe(100);
      for (const incident of incidents) {
        expect(incident).toMatchObject({ revision: 2, signalCount: 2 });
        expect(incident.firing).toHaveLength(2);
      }
      expect(await store.listEvents({ types: ["signal.received"] })).toHaveLength(200);
      expect(await store.listEvents({ types: ["incident.opened"] })).toHaveLength(100);
      const [seen] = await query<{ count: string }>(`SELECT count(*) FROM "${schema}".signals_seen`);
      expect(seen?.count).toBe("200");
    } finally {
      await store?.close();
    }
  }, 60_000);

  it("start together on an empty schema: both migrate it and come up", async () => {
    const settings = { connectionString: databaseUrl, schema: raceSchema, poolSize: 2 };
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(settings)));
    try {
      for (const store of stores) expect(await store.ready()).toBe(true);
      const applied = await query<{ version: number }>(
        `SELECT version FROM "${raceSchema}".schema_migrations ORDER BY version`,
      );
      expect(applied.map((row) => row.version)).toEqual([1, 2]);
      // Every one of them works on the same tables.
      await Promise.all(stores.map((store, index) => store.claim("service:x", `replica-${index}`, 60_000)));
      const claims = await query<{ token: string }>(`SELECT token FROM "${raceSchema}".claims`);
      expect(claims).toEqual([{ token: "1" }]);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
