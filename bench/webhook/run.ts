// bench/webhook: 10,000 Alertmanager deliveries for 1,000 distinct incidents, duplicates mixed
// in, sent over loopback from this process to a controller in a child process. Prints one JSON
// object as its last line. The same load also runs against the simplest durable receiver
// (parse, append, fsync per delivery) for comparison.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { Agent, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { firingPayload } from "@selfheal/adapter-prometheus";
import { fileStore } from "@selfheal/core";
import { percentile } from "../stats.js";

const deliveriesWanted = 10_000;
const incidentsWanted = 1_000;
/**
 * Deliveries sent first to each server and not measured (for a tenth as many incidents, of other
 * services): a controller runs for months, and what is measured is its steady state, not the
 * first milliseconds of a process whose code is not compiled yet. Both servers get the same.
 */
const warmupDeliveries = Number(process.env.BENCH_WARMUP ?? 1_000);
/** Deliveries in flight at once (Alertmanager flushes each aggregation group on its own). */
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const serverScript = fileURLToPath(new URL("./server.js", import.meta.url));

interface Delivery {
  readonly body: string;
  readonly dedupHint: string;
}

/**
 * Alertmanager v4 payloads: per incident, two alerts (two pods), each delivered several times.
 * `prefix` names the services and `fingerprintBase` starts the fingerprints: the warm-up's
 * alerts are apart from the measured ones.
 */
function buildDeliveries(
  prefix: string,
  deliveriesCount: number,
  incidentsCount: number,
  fingerprintBase = 0,
): Delivery[] {
  const alertnames = ["HighErrorRate", "HighLatency", "HighCPU", "PodCrashLooping", "DiskPressure"];
  const perIncident = deliveriesCount / incidentsCount;
  const out: Delivery[] = [];
  for (let incident = 0; incident < incidentsCount; incident++) {
    const service = `${prefix}-${Math.floor(incident / alertnames.length)}`;
    const alertname = alertnames[incident % alertnames.length] as string;
    for (let copy = 0; copy < perIncident; copy++) {
      const pod = copy % 2;
      const fingerprint = (fingerprintBase + incident * 2 + pod).toString(16).padStart(16, "0");
      const payload = firingPayload({
        groupLabels: { alertname, service },
        alerts: [
          {
            labels: { alertname, service, severity: "critical", namespace: "shop", pod: `${service}-${pod}` },
            annotations: { summary: `${alertname} on ${service}` },
            startsAt: "2026-08-20T10:15:30.123Z",
            fingerprint,
          },
        ],
      });
      out.push({ body: JSON.stringify(payload), dedupHint: fingerprint });
    }
  }
  // Shuffle (deterministically) so duplicates arrive interleaved, some at the same moment.
  let seed = 42;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j] as Delivery, out[i] as Delivery];
  }
  return out;
}

function post(agent: Agent, port: number, body: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/webhook",
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match === null ? Number.NaN : Math.round(Number(match[1]) / 1024);
}

async function runAgainst(
  mode: "selfheal" | "naive",
  warmup: readonly Delivery[],
  deliveries: readonly Delivery[],
) {
  const stateDir = await mkdtemp(join(tmpdir(), `bench-webhook-${mode}-`));
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, serverScript, mode, stateDir], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /LISTENING (\d+)/.exec(output);
      if (match !== null) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  /** Send the deliveries, `concurrency` at a time, over the same keep-alive connections. */
  const send = async (batch: readonly Delivery[]) => {
    const latencies: number[] = [];
    const acked: Delivery[] = [];
    let failed = 0;
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < batch.length) {
          const delivery = batch[next++] as Delivery;
          const { status, ms } = await post(agent, port, delivery.body);
          latencies.push(ms);
          if (status >= 200 && status < 300) acked.push(delivery);
          else failed++;
        }
      }),
    );
    return { latencies, acked, failed, elapsedS: (performance.now() - started) / 1000 };
  };
  await send(warmup);
  const { latencies, acked, failed, elapsedS } = await send(deliveries);
  agent.destroy();
  const rssMb = await peakRssMb(child.pid as number);
  let tail = "";
  const stopped = new Promise<void>((resolve) =>
    child.stdout.on("data", (chunk: Buffer) => {
      tail += chunk.toString();
      if (tail.includes("STOPPED")) resolve();
    }),
  );
  child.stdin.write("stop\n");
  await stopped;
  const loop = /LOOP_DELAY (\{.*\})/.exec(tail)?.[1];
  const result = {
    event_loop_delay:
      loop === undefined ? undefined : (JSON.parse(loop) as { p99_ms: number; max_ms: number }),
    deliveries: deliveries.length,
    acked: acked.length,
    failed,
    ack_p50_ms: Number(percentile(latencies, 50).toFixed(2)),
    ack_p99_ms: Number(percentile(latencies, 99).toFixed(2)),
    rss_mb: rssMb,
    deliveries_per_s: Math.round(deliveries.length / elapsedS),
    stateDir,
  };
  return { result, acked };
}

/** Reopen the controller's store and check every acknowledged delivery is in it. */
async function audit(stateDir: string, acked: readonly Delivery[]) {
  const store = fileStore(stateDir);
  try {
    const received = await store.listEvents({ types: ["signal.received"] });
    const fingerprints = new Set(received.map((event) => String(event.data?.fingerprint)));
    const lost = acked.filter((delivery) => !fingerprints.has(delivery.dedupHint)).length;
    // The warm-up's incidents are other services'.
    const incidents = (await store.listIncidents()).filter((incident) =>
      incident.service.startsWith(`${measuredPrefix}-`),
    ).length;
    return { lost, incidents };
  } finally {
    await store.close();
  }
}

const measuredPrefix = "svc";
const deliveries = buildDeliveries(measuredPrefix, deliveriesWanted, incidentsWanted);
const warmup = buildDeliveries("warmup", warmupDeliveries, warmupDeliveries / 10, 0x1000000);
const ours = await runAgainst("selfheal", warmup, deliveries);
const { lost, incidents } = await audit(ours.result.stateDir, ours.acked);
const naive = await runAgainst("naive", warmup, deliveries);
await rm(ours.result.stateDir, { recursive: true, force: true });
await rm(naive.result.stateDir, { recursive: true, force: true });

// The targets: nothing acknowledged is lost, one incident per alert group (1,000), a p99 acknowledgement
// within 20 ms and at most 200 MB resident; against the naive server in the same run, a p99 no
// worse and half as many deliveries again per second.
const targets = {
  lost: 0,
  incidents: incidentsWanted,
  ack_p99_ms: 20,
  rss_mb: 200,
  ack_p99_vs_naive: 1,
  throughput_vs_naive: 1.5,
};
const ackP99VsNaive = Number((ours.result.ack_p99_ms / naive.result.ack_p99_ms).toFixed(2));
const throughputVsNaive = Number((ours.result.deliveries_per_s / naive.result.deliveries_per_s).toFixed(2));
const summary = {
  deliveries: ours.result.deliveries,
  incidents,
  lost,
  ack_p50_ms: ours.result.ack_p50_ms,
  ack_p99_ms: ours.result.ack_p99_ms,
  rss_mb: ours.result.rss_mb,
  event_loop_delay_ms: ours.result.event_loop_delay,
  failed: ours.result.failed,
  deliveries_per_s: ours.result.deliveries_per_s,
  concurrency,
  warmup_deliveries: warmupDeliveries,
  ack_p99_vs_naive: ackP99VsNaive,
  throughput_vs_naive: throughputVsNaive,
  naive_fsync_per_delivery: {
    ack_p50_ms: naive.result.ack_p50_ms,
    ack_p99_ms: naive.result.ack_p99_ms,
    rss_mb: naive.result.rss_mb,
    event_loop_delay_ms: naive.result.event_loop_delay,
    deliveries_per_s: naive.result.deliveries_per_s,
  },
  targets,
  met:
    lost === targets.lost &&
    incidents === targets.incidents &&
    ours.result.ack_p99_ms <= targets.ack_p99_ms &&
    ours.result.rss_mb <= targets.rss_mb &&
    ackP99VsNaive <= targets.ack_p99_vs_naive &&
    throughputVsNaive >= targets.throughput_vs_naive,
};
console.log(JSON.stringify(summary));
