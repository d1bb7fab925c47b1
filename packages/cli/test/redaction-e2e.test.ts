import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alertmanagerWebhook, firingPayload } from "@selfheal/adapter-prometheus";
import {
  createController,
  ForgeError,
  fileStore,
  jsonLogger,
  type Store,
  webhookNotifier,
} from "@selfheal/core";
import {
  configuredSecret,
  recordingNotifier,
  secretCorpus,
  secretsFoundIn,
  staticPolicy,
} from "@selfheal/core/testing";
import { gitopsRemediator, openGitWorkspace } from "@selfheal/gitops";
import {
  createCheckoutConfigRepo,
  type GitHttpServer,
  localForge,
  runGit,
  startGitHttpServer,
} from "@selfheal/gitops/testing";
import { postgresStore } from "@selfheal/store-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// Every shape of secret goes in through the real webhook HTTP server of a controller, and none
// may come out: not in the store (the file store's raw bytes, PostgreSQL's rows), the log, the
// notifications, the change request and commit the GitOps remediator makes, or an error.
// Each place is also checked for a canary and a `[REDACTED` marker, so a search that reads the
// wrong bytes (or nothing) fails instead of passing.

const databaseUrl = process.env.SELFHEAL_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const canary = "canary-runbook-7f3a";
const marker = "[REDACTED";

let git: GitHttpServer;
let scratch: string;
let hookServer: Server;
let hookUrl: string;
/** Bodies the webhook notifier posted. */
const hookBodies: string[] = [];

beforeAll(async () => {
  git = await startGitHttpServer();
  scratch = await mkdtemp(join(tmpdir(), "selfheal-redaction-"));
  hookServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      hookBodies.push(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
});

afterAll(async () => {
  await new Promise((resolve) => hookServer.close(resolve));
  await git.close();
  await rm(scratch, { recursive: true, force: true });
});

/** An Alertmanager notification carrying the whole corpus in labels, annotations, URL and group. */
function leakyPayload(alertname: string, fingerprint: string): Record<string, unknown> {
  const leaks = Object.fromEntries(secretCorpus.map((sample, index) => [`leak_${index}`, sample.text]));
  return firingPayload({
    groupLabels: { service: "checkout", leak: configuredSecret },
    alerts: [
      {
        fingerprint,
        labels: { alertname, service: "checkout", severity: "critical", ...leaks },
        annotations: {
          summary: `error rate high, ${canary}`,
          description: secretCorpus.map((sample) => sample.text).join("\n"),
        },
        generatorURL: `https://deploy:UrlPassFake771@prometheus.example.com/graph?token=qwerty-fake-tok-778`,
      },
    ],
  });
}

/** Every file under `dir`, raw bytes as text. */
async function allBytes(dir: string): Promise<string> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.push((await readFile(join(entry.parentPath, entry.name))).toString("latin1"));
  }
  return out.join("\n");
}

/** Every row of every table of `schema`, as PostgreSQL prints it. */
async function allRows(schema: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
      [schema],
    );
    const out: string[] = [];
    for (const { table_name } of tables.rows) {
      const rows = await client.query<{ row: string }>(
        `SELECT t::text AS row FROM "${schema}"."${table_name}" t`,
      );
      out.push(...rows.rows.map((row) => row.row));
    }
    return out.join("\n");
  } finally {
    await client.end();
  }
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not seen within 60 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What a store holds, read raw (not through the store). */
interface StoreUnderTest {
  readonly name: string;
  open(): Promise<{ store: Store; raw: () => Promise<string>; cleanup: () => Promise<void> }>;
}

const stores: StoreUnderTest[] = [
  {
    name: "file store",
    async open() {
      const dir = join(scratch, `state-${randomBytes(4).toString("hex")}`);
      return { store: fileStore(dir), raw: () => allBytes(dir), cleanup: async () => undefined };
    },
  },
  {
    name: "PostgreSQL store",
    async open() {
      const schema = `selfheal_redact_${process.pid}_${randomBytes(4).toString("hex")}`;
      return {
        store: postgresStore({ connectionString: databaseUrl, schema }),
        raw: () => allRows(schema),
        cleanup: () => dropSchema(schema),
      };
    },
  },
];

describe.each(stores)("no secret from an alert is kept or shown ($name)", (storeUnderTest) => {
  it("through the webhook: store, log, notifications, change request, commit and errors", async () => {
    const name = `redact-${randomBytes(4).toString("hex")}`;
    const repo = await createCheckoutConfigRepo(git, name);
    const forge = localForge({ repoPath: repo.path, webUrl: `http://forge.example/${name}` });
    const { store, raw, cleanup } = await storeUnderTest.open();
    const lines: string[] = [];
    const recorded = recordingNotifier();
    const controller = createController({
      // The webhook's bearer is one of the configured secrets, as the CLI passes it.
      sources: [alertmanagerWebhook({ path: "/webhook", auth: { bearer: configuredSecret } })],
      // A policy may quote what it saw (or a secret of its own) in its reason.
      policy: staticPolicy({
        action: "rollback",
        reason: `rollback; saw ${secretCorpus[0]?.text} and ${configuredSecret}`,
      }),
      remediate: gitopsRemediator({
        workspace: openGitWorkspace({ url: repo.url, dir: join(scratch, `${name}-clone`) }),
        forge,
      }),
      notify: [recorded, webhookNotifier({ url: hookUrl })],
      logger: jsonLogger({ level: "debug", write: (line) => lines.push(line) }),
      store,
      secrets: [configuredSecret],
      guardrails: { cooldown: 0 },
    });
    const post = async (body: unknown) => {
      const answer = await fetch(`${listening.url}/webhook`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${configuredSecret}` },
        body: JSON.stringify(body),
      });
      expect(answer.status).toBe(200);
    };
    const listening = await controller.listen({ port: 0, host: "127.0.0.1" });
    let trail: Awaited<ReturnType<Store["listEvents"]>> = [];
    try {
      // 1. A forge error with a secret in it, retried (logged), then the change request opens.
      forge.failNext(
        "open",
        new ForgeError(`forge unavailable for credential ${configuredSecret}`, {
          kind: "unavailable",
          adapter: "local",
          operation: "open",
        }),
      );
      const first = leakyPayload("HighErrorRate", "a1b2c3d4e5f60718");
      expect(secretsFoundIn(JSON.stringify(first))).toHaveLength(secretCorpus.length);
      await post(first);
      await eventually(() => forge.requests.length === 1, "the change request");

      // 2. A forge error that is not retried: the incident fails with it, and escalates.
      forge.failNext(
        "open",
        new Error(`403 from forge: ${secretCorpus.map((sample) => sample.text).join(" ")}`),
      );
      await post(leakyPayload("HighLatency", "0f1e2d3c4b5a6978"));
      await eventually(async () => {
        const incidents = await controller.store.listIncidents();
        return incidents.some(
          (incident) => incident.alertname === "HighLatency" && incident.closedAt !== undefined,
        );
      }, "the failed incident closed");
      await eventually(() => hookBodies.some((body) => body.includes('"escalated"')), "the escalation");
      trail = await controller.store.listEvents();
    } finally {
      await controller.close({ timeout: 2000 });
    }

    try {
      const failure = trail.find((event) => event.type === "remediation.failed");
      const places: Record<string, string> = {
        store: await raw(),
        log: lines.join(""),
        "notifier (in process)": JSON.stringify(recorded.sent),
        "notifier (webhook bodies)": hookBodies.join("\n"),
        "change request": JSON.stringify(forge.requests),
        "commit messages": await runGit(["--git-dir", repo.path, "log", "--all", "--format=%B"]),
        "error in the audit trail": JSON.stringify(failure ?? null),
      };
      for (const [place, text] of Object.entries(places)) {
        expect.soft(secretsFoundIn(text), place).toEqual([]);
        expect.soft(text, place).toContain(marker);
      }
      // The canary (a harmless annotation) is where the alert's text went.
      for (const place of ["store", "notifier (in process)", "change request"])
        expect(places[place], place).toContain(canary);
      expect(failure?.message).toContain("403 from forge: token ghp_[REDACTED]");
      expect(places.log).toContain("gitops.apply failed, retrying");
      expect(places["commit messages"]).toContain("rollback; saw token ghp_[REDACTED] and [REDACTED]");
    } finally {
      await cleanup();
    }
  }, 120_000);
});
