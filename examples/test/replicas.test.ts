// Several controller replicas on one PostgreSQL database, each a real child process, acting on a
// config repo served by a real git server: every alert delivered to every replica.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { firingPayload } from "@selfheal/adapter-prometheus";
import type { Store } from "@selfheal/core";
import { type GitHttpServer, localForge, runGit, startGitHttpServer } from "@selfheal/gitops/testing";
import { openPostgresStore } from "@selfheal/store-postgres";
import pg from "pg";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";

const pgUrl = process.env.SELFHEAL_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const repository = fileURLToPath(new URL("../..", import.meta.url));
const replicaScript = fileURLToPath(new URL("./fixtures/replica.mjs", import.meta.url));

let server: GitHttpServer;
let scratch: string;
const children: ChildProcess[] = [];
const schemas: string[] = [];
const stores: Store[] = [];

beforeAll(async () => {
  // The replicas run the built packages.
  await promisify(execFile)(
    "pnpm",
    ["exec", "tsc", "-b", "packages/store-postgres", "packages/gitops", "packages/adapter-prometheus"],
    {
      cwd: repository,
    },
  );
  server = await startGitHttpServer();
  scratch = await mkdtemp(join(tmpdir(), "selfheal-replicas-"));
}, 120_000);

afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  await Promise.all(stores.splice(0).map((store) => store.close()));
});

afterAll(async () => {
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

const deployment = (name: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: ${name}\n          image: r/${name}:v1\n`;

function newSchema(): string {
  const schema = `selfheal_replicas_${process.pid}_${randomBytes(3).toString("hex")}`;
  schemas.push(schema);
  return schema;
}

/** Start a replica; resolves with its webhook URL once it listens. */
function startReplica(settings: Record<string, unknown>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [replicaScript], {
    cwd: join(repository, "examples"),
    env: { ...process.env, REPLICA: JSON.stringify({ pgUrl, ...settings }) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", (chunk: Buffer) => {
      const { port } = JSON.parse(chunk.toString().split("\n")[0] ?? "{}") as { port: number };
      resolve({ url: `http://127.0.0.1:${port}/webhook/alertmanager`, child });
    });
    child.once("exit", (code) => reject(new Error(`replica exited ${code}: ${stderr}`)));
  });
}

async function deliver(url: string, service: string, alertname: string): Promise<number> {
  const payload = firingPayload({
    groupLabels: { alertname, service },
    alerts: [
      {
        labels: { alertname, service, severity: "critical" },
        startsAt: "2026-11-26T01:00:00.000Z",
        fingerprint: randomFingerprint(service, alertname),
      },
    ],
  });
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  await response.arrayBuffer();
  return response.status;
}

function randomFingerprint(service: string, alertname: string): string {
  return Buffer.from(`${service}/${alertname}`).toString("hex").slice(0, 16).padEnd(16, "0");
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function commitsWithKeys(path: string): Promise<string[]> {
  const log = await runGit([
    "--git-dir",
    path,
    "log",
    "--format=%(trailers:key=Selfheal-Key,valueonly)",
    "main",
  ]);
  return log.split("\n").filter((line) => line.trim() !== "");
}

it("3 replicas get the same 200 alerts: one action per incident at most, guardrails across replicas, every suppression recorded", async () => {
  const services = Array.from({ length: 40 }, (_, index) => `svc-${index}`);
  const alertnames = ["HighErrorRate", "HighLatency", "HighCPU", "PodCrashLooping", "DiskPressure"];
  const files = Object.fromEntries(services.map((service) => [`apps/${service}.yaml`, deployment(service)]));
  const { url: gitUrl, path } = await server.createRepo("replicas-200", files);
  const schema = newSchema();
  const replicas = await Promise.all(
    ["a", "b", "c"].map((name) =>
      startReplica({
        name: `replica-${name}`,
        schema,
        gitUrl,
        workspaceDir: join(scratch, `ws-${name}`),
        mode: "direct",
      }),
    ),
  );
  const deliveries = services.flatMap((service) => alertnames.map((alertname) => ({ service, alertname })));
  expect(deliveries).toHaveLength(200);
  // Every delivery to every replica, several at once.
  const queue = deliveries.flatMap((delivery) =>
    replicas.map((replica) => ({ ...delivery, url: replica.url })),
  );
  const statuses: number[] = [];
  await Promise.all(
    Array.from({ length: 12 }, async () => {
      for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
        statuses.push(await deliver(next.url, next.service, next.alertname));
      }
    }),
  );
  expect(statuses.every((status) => status === 200)).toBe(true);

  const store = await openPostgresStore({ connectionString: pgUrl, schema });
  stores.push(store);
  await until(
    async () => (await store.listIncidents({ open: true })).length === 0,
    90_000,
    "every incident to close",
  );
  const incidents = await store.listIncidents();
  expect(incidents).toHaveLength(200);

  const started = await store.listEvents({ types: ["remediation.started"] });
  const perIncident = new Map<string, number>();
  for (const event of started)
    perIncident.set(event.incidentId ?? "", (perIncident.get(event.incidentId ?? "") ?? 0) + 1);
  expect([...perIncident.values()].every((count) => count === 1)).toBe(true);
  // The 5-minute cooldown holds across replicas: one action per service.
  const perService = new Map<string, number>();
  for (const event of started)
    perService.set(event.service ?? "", (perService.get(event.service ?? "") ?? 0) + 1);
  expect([...perService.values()].every((count) => count === 1)).toBe(true);
  expect(perService.size).toBeGreaterThan(0);

  // Every incident that did not act says why, in its trail.
  const suppressedEvents = await store.listEvents({ types: ["guardrail.suppressed"] });
  const suppressedIds = new Set(suppressedEvents.map((event) => event.incidentId));
  // Cooldown (one action per service) and the global limit of 5 actions in flight, counted over all replicas.
  const reasons = new Set(suppressedEvents.map((event) => String(event.data?.reason)));
  expect([...reasons].every((reason) => ["cooldown", "concurrency", "rate_limit"].includes(reason))).toBe(
    true,
  );
  for (const incident of incidents) {
    if (perIncident.has(incident.id)) expect(incident.state).toBe("resolved");
    else {
      expect(incident.state).toBe("suppressed");
      expect(suppressedIds.has(incident.id)).toBe(true);
    }
  }
  // One commit per action, none twice.
  const keys = await commitsWithKeys(path);
  expect(keys).toHaveLength(started.length);
  expect(new Set(keys).size).toBe(keys.length);
  // More than one replica worked (recorded, decided, suppressed or acted): which one wins each action is the
  // machine's business, and on a busy machine one replica may win them all.
  const workers = new Set((await store.listEvents()).map((event) => event.actor));
  expect(workers.size).toBeGreaterThan(1);
}, 150_000);

it("kill -9 of the replica between push and change request: another takes over, one commit, one change request", async () => {
  const { url: gitUrl, path } = await server.createRepo("takeover", {
    "apps/checkout.yaml": deployment("checkout"),
  });
  const schema = newSchema();
  const forgeState = join(scratch, "forge.json");
  const hangFile = join(scratch, "hang");
  const common = { schema, gitUrl, mode: "change_request", repoPath: path, forgeState, claimTtl: "1s" };
  const first = await startReplica({
    ...common,
    name: "replica-a",
    workspaceDir: join(scratch, "take-a"),
    hangFile,
  });
  const second = await startReplica({ ...common, name: "replica-b", workspaceDir: join(scratch, "take-b") });

  expect(await deliver(first.url, "checkout", "HighCPU")).toBe(200);
  await until(async () => existsSync(hangFile), 30_000, "replica a to push and reach the change request");
  first.child.kill("SIGKILL");
  expect(await deliver(second.url, "checkout", "HighCPU")).toBe(200);

  const forge = localForge({
    repoPath: path,
    webUrl: "http://forge.invalid/acme/config",
    stateFile: forgeState,
  });
  const store = await openPostgresStore({ connectionString: pgUrl, schema });
  stores.push(store);
  const opened = async () =>
    forge.get("1", { signal: AbortSignal.timeout(1000) }).then(
      () => true,
      () => false,
    );
  await until(opened, 30_000, "replica b to open the change request");
  expect(forge.requests).toHaveLength(1);
  const request = forge.requests[0];
  await forge.merge(request?.id ?? "", { signal: AbortSignal.timeout(10_000) });
  await until(
    async () => (await store.listIncidents({ open: true })).length === 0,
    30_000,
    "the incident to close",
  );

  const [incident] = await store.listIncidents();
  expect(incident?.state).toBe("resolved");
  const branches = (
    await runGit(["--git-dir", path, "for-each-ref", "--format=%(refname)", "refs/heads/selfheal/"])
  )
    .split("\n")
    .filter((line) => line !== "");
  expect(branches).toHaveLength(1);
  expect(await runGit(["--git-dir", path, "rev-list", "--count", `main^1..${branches[0]}`])).toBe("1\n");
  const completed = await store.listEvents({ types: ["remediation.completed"] });
  expect(completed).toHaveLength(1);
  expect(completed[0]).toMatchObject({ actor: "replica-b", data: { result: { reused: true } } });
  const resumedBy = await store.listEvents({ types: ["remediation.started"] });
  expect(resumedBy.map((event) => event.actor)).toEqual(["replica-a"]);
}, 120_000);
