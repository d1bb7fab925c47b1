// The timed part of bench/audit, in a process of its own so that its RSS is the reader's and the
// controller's, not the loader's: `selfheal audit --since 30d` and `--service X` (core's
// auditReport, called as the CLI calls it), `selfheal audit --readiness` over the whole history
// (the command itself, through runCli, from a config file naming the store), then a controller's
// start-up on the same store. Prints one JSON line. Arguments: `audit|readiness|startup`, then
// `pg <url> <schema> <service>` or `file <dir> <service>`.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "@selfheal/cli";
import {
  auditReport,
  createController,
  openFileStore,
  type Policy,
  type Remediator,
  readFileStore,
  type Store,
  silentLogger,
} from "@selfheal/core";
import { openPostgresStore } from "@selfheal/store-postgres";

const [operation, kind, where, third, fourth] = process.argv.slice(2);
const service = (kind === "pg" ? fourth : third) ?? "svc-000";

const elapsed = async <T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> => {
  const started = performance.now();
  const value = await work();
  return { ms: Math.round((performance.now() - started) * 10) / 10, value };
};

/** Decides a rollback for every resumed incident, so start-up goes through the guardrails' reads. */
const policy: Policy = {
  name: "bench",
  async decide() {
    return { action: "rollback", params: {}, reason: "resumed after restart", escalate: false };
  },
};

/** Applies at once: the start-up is measured, not a remediation. */
const remediator: Remediator = {
  name: "bench",
  actions: ["rollback"],
  async plan({ incident, decision, idempotencyKey }) {
    return {
      idempotencyKey,
      incidentId: incident.id,
      service: incident.service,
      action: decision.action,
      params: decision.params,
      remediator: "bench",
      summary: `rollback ${incident.service}`,
      changes: [
        {
          target: `apps/${incident.service}/deployment.yaml`,
          description: "image back to the previous release",
        },
      ],
    };
  },
  async apply() {
    return { status: "applied", reused: false };
  },
};

/** Open the store, start a controller on it, and wait until it is ready and its resumed incidents settled. */
async function startUp(open: () => Promise<Store>) {
  const started = performance.now();
  const store = await open();
  const controller = createController({ store, policy, remediate: remediator, logger: silentLogger });
  await controller.start();
  const readiness = await controller.readiness();
  const readyMs = performance.now() - started;
  const resumed = (await store.listEvents({ types: ["controller.resumed"] })).length;
  await controller.settled();
  const settledMs = performance.now() - started;
  const stillOpen = (await store.listIncidents({ open: true })).length;
  await controller.close();
  await store.close();
  return {
    ready: readiness.ready,
    ready_ms: Math.round(readyMs),
    startup_ms: Math.round(settledMs),
    resumed,
    still_open: stillOpen,
  };
}

async function audits(store: Store) {
  const since = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const month = await elapsed(() => auditReport(store, { since }));
  const one = await elapsed(() => auditReport(store, { service }));
  return {
    audit_30d_ms: month.ms,
    audit_30d_incidents: month.value.incidents.length,
    audit_service_ms: one.ms,
    audit_service_incidents: one.value.incidents.length,
  };
}

/**
 * `selfheal audit --readiness --json` over the store's whole history, as a user runs it: the
 * command parses a config file naming the store, opens it, reads and prints the report.
 */
async function readiness(
  store: { postgres: { connectionString: string; schema: string } } | { file: { dir: string } },
) {
  const folder = await mkdtemp(join(tmpdir(), "selfheal-bench-readiness-"));
  try {
    const config = join(folder, "selfheal.json");
    // YAML is a superset of JSON: the config file is written as JSON.
    await writeFile(config, JSON.stringify({ store, policy: { builtin: {} } }));
    let printed = "";
    const io = {
      stdout: (text: string) => {
        printed += text;
      },
      stderr: (text: string) => void process.stderr.write(text),
      interactive: false,
      env: process.env,
      cwd: folder,
      stop: new AbortController().signal,
    };
    const run = await elapsed(() => runCli(["audit", "--readiness", "--json", "-c", config], io));
    if (run.value !== 0) throw new Error(`selfheal audit --readiness exited ${run.value}`);
    const report = JSON.parse(printed) as { services: { wouldAct: number }[] };
    return { readiness_ms: run.ms, readiness_services: report.services.length };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function main(): Promise<Record<string, unknown>> {
  // One operation per process, so each one's peak RSS is its own.
  const open =
    kind === "pg" && where !== undefined && third !== undefined
      ? () => openPostgresStore({ connectionString: where, schema: third })
      : kind === "file" && where !== undefined
        ? () => openFileStore(where)
        : undefined;
  if (open === undefined || !["audit", "readiness", "startup"].includes(operation ?? "")) {
    throw new Error(
      `usage: measure.js audit|readiness|startup pg <url> <schema> <service> | file <dir> <service>; got ${process.argv.slice(2).join(" ")}`,
    );
  }
  if (operation === "startup") return startUp(open);
  if (operation === "readiness") {
    return readiness(
      kind === "pg"
        ? { postgres: { connectionString: where ?? "", schema: third ?? "" } }
        : { file: { dir: where ?? "" } },
    );
  }
  // As `selfheal audit` reads a file store: without its lock, beside the controller.
  const reader = kind === "file" && where !== undefined ? await readFileStore(where) : await open();
  try {
    return await audits(reader);
  } finally {
    await reader.close();
  }
}

main()
  .then((result) => {
    const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    console.log(JSON.stringify({ ...result, rss_mb: rssMb }));
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
