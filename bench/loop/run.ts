// bench/loop: the closed loop's scenario 1 (a bad release, rolled back by a direct commit) five
// times with real Prometheus and Alertmanager at 1 s intervals, each run in a fresh environment.
// Prints one line per run and one JSON object as its last line. See bench/README.md, "loop".
import { type IncidentTimeline, startClosedLoop, timeline } from "@selfheal/examples/dist/loop/index.js";
import { controllerTime } from "./controller-time.js";

const runs = Number(process.env.BENCH_RUNS ?? 5);
/** Rate window of the alert rule, the enricher and the verifier, in seconds. */
const windowS = Number(process.env.BENCH_WINDOW_S ?? 5);
/** Argo CD's default git poll: what the sync stage waits without a refresh after the push. */
const argocdPollS = 180;

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};
const round = (value: number, digits = 3) => Number(value.toFixed(digits));

interface RunResult {
  readonly trail: IncidentTimeline;
  readonly mttrS: number;
  readonly controllerMs: number;
}

async function runOnce(index: number): Promise<RunResult> {
  const loop = await startClosedLoop({ mode: "direct", windowS });
  try {
    const faultAt = await loop.injectFault();
    const { incident } = await loop.untilClosed({ timeoutMs: 60_000, pollMs: 50 }).catch((error: unknown) => {
      throw new Error(`run ${index}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    });
    const trail = await timeline(loop.controller.store, incident.id, faultAt);
    if (trail.incident.state !== "resolved" || trail.mttr_s === undefined) {
      throw new Error(`run ${index}: ${trail.incident.state}: ${trail.incident.closeReason}`);
    }
    const own = controllerTime(trail, loop.clock.waits, loop.deploys);
    const stages = Object.entries(trail.durations)
      .map(([name, value]) => `${name.replace("_s", "")} ${value.toFixed(2)}`)
      .join(", ");
    console.log(
      `run ${index}: MTTR ${trail.mttr_s.toFixed(2)} s (${stages}); controller ${own.totalMs} ms ` +
        `(decide ${own.decideMs}, remediate ${own.remediateMs}, notice sync ${own.noticeSyncMs})`,
    );
    return { trail, mttrS: trail.mttr_s, controllerMs: own.totalMs };
  } finally {
    await loop.stop();
  }
}

const results: RunResult[] = [];
for (let index = 1; index <= runs; index++) results.push(await runOnce(index));

const mttrs = results.map((result) => result.mttrS);
const stage = (name: keyof IncidentTimeline["durations"]) =>
  round(median(results.map((result) => result.trail.durations[name] ?? Number.NaN)));
const controllerShare =
  results.reduce((sum, result) => sum + result.controllerMs, 0) /
  (mttrs.reduce((sum, mttr) => sum + mttr, 0) * 1000);
const mttrP50 = median(mttrs);
const syncP50 = stage("sync_s");
const summary = {
  benchmark: "loop",
  runs,
  window_s: windowS,
  mttr_p50_s: round(mttrP50),
  mttr_max_s: round(Math.max(...mttrs)),
  detect_s: stage("detect_s"),
  decide_s: stage("decide_s"),
  remediate_s: stage("remediate_s"),
  sync_s: syncP50,
  verify_s: stage("verify_s"),
  controller_ms_p50: round(median(results.map((result) => result.controllerMs)), 0),
  controller_share: round(controllerShare, 4),
  // Without the refresh after the push, the sync stage waits for Argo CD's next poll: on average
  // half the poll interval (the push lands at a uniformly random point of it), at worst all of it.
  seed_poll_mttr_expected_s: round(mttrP50 + argocdPollS / 2),
  seed_poll_mttr_worst_s: round(mttrP50 + argocdPollS),
  targets: { mttr_p50_s: 10, controller_share: 0.05 },
  met: mttrP50 <= 10 && controllerShare <= 0.05,
};
console.log(JSON.stringify(summary));
