// bench/storm: a cluster-wide outage. 5,000 firing alerts for 1,000 services (five pods each)
// delivered by 16 connections within 10 s to controllers in child processes (bench/storm/
// controller) sharing one PostgreSQL schema, real OPA deciding with the shipped selfheal.rego,
// a remediator taking 200 ms per action, guardrails at their defaults. Everything measured comes
// from the store afterwards. Prints one JSON object as its last line.
//
//   BENCH_ALERTS (default 5000), BENCH_SERVICES (default 1000), BENCH_WINDOW_S (default 10)
//   BENCH_REPLICAS (default 1)   controllers sharing the store; deliveries go round-robin
//   BENCH_CONCURRENCY (default 16) connections in flight
//   BENCH_NODE_ARGS              extra node arguments for the controllers (--cpu-prof)
//   BENCH_PG_URL                 default postgres://postgres@127.0.0.1:5432/test
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Agent, request } from "node:http";
import { fileURLToPath } from "node:url";
import { firingPayload } from "@selfheal/adapter-prometheus";
import pg from "pg";
import { stormFigures } from "./figures.js";
import { startOpa } from "./opa.js";

const alerts = Number(process.env.BENCH_ALERTS ?? 5_000);
const services = Number(process.env.BENCH_SERVICES ?? 1_000);
const windowMs = Number(process.env.BENCH_WINDOW_S ?? 10) * 1000;
const replicas = Number(process.env.BENCH_REPLICAS ?? 1);
const connections = Number(process.env.BENCH_CONCURRENCY ?? 16);
const databaseUrl = process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const controllerScript = fileURLToPath(new URL("./controller.js", import.meta.url));

const fingerprintOf = (index: number) => index.toString(16).padStart(16, "0");

/** One Alertmanager delivery per alert: pods of a service fold into the service's incident. */
function buildDeliveries(): string[] {
  const out: string[] = [];
  const startsAt = new Date().toISOString();
  for (let index = 0; index < alerts; index++) {
    const service = `svc-${String(index % services).padStart(4, "0")}`;
    const pod = Math.floor(index / services);
    const labels = {
      alertname: "HighErrorRate",
      service,
      severity: "critical",
      namespace: "prod",
      pod: `${service}-${pod}`,
    };
    const payload = firingPayload({
      groupLabels: { alertname: "HighErrorRate", service },
      alerts: [
        {
          labels,
          annotations: { summary: `5xx above 5% on ${service}` },
          startsAt,
          fingerprint: index.toString(16).padStart(16, "0"),
        },
      ],
    });
    out.push(JSON.stringify(payload));
  }
  return out;
}

function post(agent: Agent, port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/webhook",
        method: "POST",
        agent,
        headers: { "content-type": "application/json" },
      },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function startController(schema: string, opa: string, instance: string) {
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, controllerScript, databaseUrl, schema, opa, instance], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /LISTENING (\d+)/.exec(output);
      if (match !== null) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`controller ${instance} exited ${code}`)));
  });
  const stop = async () => {
    const stopped = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.stdin.write("stop\n");
    await stopped;
  };
  return { child, port, stop };
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match === null ? Number.NaN : Math.round(Number(match[1]) / 1024);
}

/**
 * Deliver every alert, paced to spread over the window, `connections` in flight. A delivery that
 * is not acknowledged (an error status, a refused connection) is sent again after a second, up
 * to five times, as Alertmanager retries a failed notification.
 */
async function deliver(ports: readonly number[], deliveries: readonly string[]) {
  const agents = ports.map(() => new Agent({ keepAlive: true, maxSockets: connections }));
  const started = Date.now();
  let next = 0;
  const acked = new Set<number>();
  const refusals: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < deliveries.length) {
        const index = next++;
        const due = started + (index * windowMs) / deliveries.length;
        if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        for (let attempt = 0; attempt < 5 && !acked.has(index); attempt++) {
          if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 1000));
          const replica = (index + attempt) % ports.length;
          const status = await post(
            agents[replica] as Agent,
            ports[replica] as number,
            deliveries[index] as string,
          ).catch((error: unknown) => (error as NodeJS.ErrnoException).code ?? "error");
          if (typeof status === "number" && status >= 200 && status < 300) acked.add(index);
          else refusals[String(status)] = (refusals[String(status)] ?? 0) + 1;
        }
      }
    }),
  );
  for (const agent of agents) agent.destroy();
  return { started, deliveredMs: Date.now() - started, acked, refusals };
}

/** Wait until every incident has a decision and no action is under way (or the deadline). */
async function drained(client: pg.Client, q: string, deadlineMs: number): Promise<boolean> {
  while (Date.now() < deadlineMs) {
    const { rows } = await client.query<{ waiting: string }>(
      `SELECT count(*) AS waiting FROM ${q}.incidents
        WHERE state IN ('received', 'deciding', 'acting', 'awaiting_merge', 'syncing', 'verifying')`,
    );
    if (Number(rows[0]?.waiting) === 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

async function main(): Promise<void> {
  const schema = `bench_storm_${process.pid}_${randomBytes(3).toString("hex")}`;
  const q = `"${schema}"`;
  const opa = await startOpa();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const controllers: Awaited<ReturnType<typeof startController>>[] = [];
  try {
    for (let index = 0; index < replicas; index++)
      controllers.push(await startController(schema, opa?.url ?? "builtin", `storm-${index}`));
    const deliveries = buildDeliveries();
    const sent = await deliver(
      controllers.map((controller) => controller.port),
      deliveries,
    );
    console.log(
      `delivered ${sent.acked.size}/${alerts} in ${(sent.deliveredMs / 1000).toFixed(1)} s (refused, then sent again: ${JSON.stringify(sent.refusals)})`,
    );
    const settled = await drained(client, q, Date.now() + 180_000);
    const rss = await Promise.all(controllers.map((controller) => peakRssMb(controller.child.pid as number)));
    for (const controller of controllers.splice(0)) await controller.stop();
    const figures = await stormFigures(client, q, {
      alerts,
      services,
      firstDeliveryMs: sent.started,
      acked: [...sent.acked].map(fingerprintOf),
    });
    const bound = figures.actions_bound;
    const targets = {
      lost: 0,
      decided: figures.incidents,
      drain_s: 30,
      actions_started_max: bound,
      max_concurrent_actions: 5,
      rss_mb: 300,
    };
    const rssMb = Math.max(...rss);
    const summary = {
      benchmark: "storm",
      replicas,
      policy: opa === undefined ? "builtin" : "opa",
      ...(opa === undefined ? { policy_note: "OPA binary missing: the built-in policy decided" } : {}),
      alerts,
      acked: sent.acked.size,
      refused_then_retried: sent.refusals,
      delivery_s: Math.round(sent.deliveredMs / 100) / 10,
      ...figures,
      drained: settled,
      rss_mb: rssMb,
      rss_mb_by_replica: rss,
      targets,
    };
    const met =
      settled &&
      sent.acked.size === alerts &&
      figures.lost === 0 &&
      figures.decided === figures.incidents &&
      figures.drain_s <= targets.drain_s &&
      figures.actions_started <= bound &&
      figures.max_concurrent_actions <= targets.max_concurrent_actions &&
      rssMb <= targets.rss_mb;
    console.log(JSON.stringify({ ...summary, met }));
  } finally {
    for (const controller of controllers) controller.child.kill("SIGKILL");
    await opa?.stop();
    await client.query(`DROP SCHEMA IF EXISTS ${q} CASCADE`);
    await client.end();
  }
}

await main();
