// What the storm did, read back from the store's tables after the controllers stopped.
import type pg from "pg";
import { percentile } from "../stats.js";

/** Default guardrails (core's `guardrails`): at most this many actions under way at once. */
const maxConcurrent = 5;
const actionMs = Number(process.env.BENCH_ACTION_MS ?? 200);

/**
 * The most actions the default guardrails allow in the storm: one per service (its 5-minute
 * cooldown outlasts the storm, and the rate limit allows two per 30 minutes), and no more than
 * `maxConcurrent` under way at once, each holding its slot at least `actionMs`: over the span
 * from the first start to the last end, at most maxConcurrent · (span / actionMs + 1) starts.
 */
function actionsBound(services: number, spanMs: number): number {
  return Math.min(services, maxConcurrent * (Math.floor(spanMs / actionMs) + 1));
}

/** The largest number of actions under way at one time, from their start and end events. */
function maxOverlap(intervals: readonly { start: number; end: number }[]): number {
  const points = intervals.flatMap((interval) => [
    { at: interval.start, delta: 1 },
    { at: interval.end, delta: -1 },
  ]);
  // An end at the same instant as a start frees its slot first.
  points.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let current = 0;
  let most = 0;
  for (const point of points) {
    current += point.delta;
    most = Math.max(most, current);
  }
  return most;
}

export async function stormFigures(
  client: pg.Client,
  q: string,
  run: {
    readonly alerts: number;
    readonly services: number;
    readonly firstDeliveryMs: number;
    /** Fingerprints of the alerts acknowledged. */
    readonly acked: readonly string[];
  },
) {
  const count = async (sql: string) => Number((await client.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  const incidents = await count(`SELECT count(*) AS n FROM ${q}.incidents`);
  const recorded = await client.query<{ fingerprint: string }>(
    `SELECT doc #>> '{data,fingerprint}' AS fingerprint FROM ${q}.audit_events WHERE type = 'signal.received'`,
  );
  const fingerprints = new Set(recorded.rows.map((row) => row.fingerprint));
  const decided = await count(
    `SELECT count(DISTINCT incident_id) AS n FROM ${q}.audit_events WHERE type = 'decision.made'`,
  );
  const latencies = await client.query<{ ms: number; at: Date }>(
    `SELECT extract(epoch FROM min(e.at) - i.opened_at) * 1000 AS ms, min(e.at) AS at
       FROM ${q}.incidents i JOIN ${q}.audit_events e ON e.incident_id = i.id AND e.type = 'decision.made'
      GROUP BY i.id, i.opened_at`,
  );
  const lastDecision = Math.max(...latencies.rows.map((row) => row.at.getTime()));
  const started = await client.query<{ start: Date; finish: Date | null }>(
    `SELECT s.at AS start,
            (SELECT min(f.at) FROM ${q}.audit_events f
              WHERE f.incident_id = s.incident_id
                AND f.type IN ('remediation.completed', 'remediation.failed', 'remediation.cancelled')) AS finish
       FROM ${q}.audit_events s WHERE s.type = 'remediation.started'`,
  );
  const intervals = started.rows.map((row) => ({
    start: row.start.getTime(),
    end: (row.finish ?? row.start).getTime(),
  }));
  const spanMs =
    intervals.length === 0
      ? 0
      : Math.max(...intervals.map((i) => i.end)) - Math.min(...intervals.map((i) => i.start));
  const suppressed = await client.query<{ reason: string; n: string }>(
    `SELECT coalesce(doc #>> '{suppression,reason}', 'none') AS reason, count(*) AS n
       FROM ${q}.incidents WHERE state = 'suppressed' GROUP BY 1 ORDER BY 1`,
  );
  const states = await client.query<{ state: string; n: string }>(
    `SELECT state, count(*) AS n FROM ${q}.incidents GROUP BY 1 ORDER BY 1`,
  );
  const reasons = await client.query<{ reason: string; n: string }>(
    `SELECT coalesce(doc #>> '{decision,action}', 'undecided') AS reason, count(*) AS n FROM ${q}.incidents
      GROUP BY 1 ORDER BY 1`,
  );
  const decisionMs = latencies.rows.map((row) => Number(row.ms));
  return {
    incidents,
    // Acknowledged and not in the store. (An alert never acknowledged is Alertmanager's to retry.)
    lost: run.acked.filter((fingerprint) => !fingerprints.has(fingerprint)).length,
    recorded: fingerprints.size,
    decided,
    drain_s:
      latencies.rows.length === 0 ? Number.NaN : Math.round((lastDecision - run.firstDeliveryMs) / 100) / 10,
    decision_p50_ms: Math.round(percentile(decisionMs, 50)),
    decision_p99_ms: Math.round(percentile(decisionMs, 99)),
    actions_started: intervals.length,
    actions_span_s: Math.round(spanMs / 100) / 10,
    actions_bound: actionsBound(run.services, spanMs),
    max_concurrent_actions: maxOverlap(intervals),
    suppressed_by_reason: Object.fromEntries(suppressed.rows.map((row) => [row.reason, Number(row.n)])),
    decided_actions: Object.fromEntries(reasons.rows.map((row) => [row.reason, Number(row.n)])),
    states: Object.fromEntries(states.rows.map((row) => [row.state, Number(row.n)])),
  };
}
