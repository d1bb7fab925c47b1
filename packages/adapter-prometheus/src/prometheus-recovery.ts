import {
  BadInputError,
  type Duration,
  describeError,
  formatMs,
  type JsonValue,
  SelfHealError,
  toMs,
  type VerificationResult,
  type Verifier,
} from "@selfheal/core";
import { sleep } from "@selfheal/core/internal";
import { defaultErrorRateQuery } from "./default-queries.js";
import { createHttpClient, type HttpConnectionSettings } from "./http-client.js";
import { instantQuery } from "./prometheus-query.js";
import { checkPromDuration, compilePromql, promqlValuesOf } from "./promql-template.js";

/** Settings of `prometheusRecovery`. */
export interface PrometheusRecoverySettings extends HttpConnectionSettings {
  /**
   * Name recorded in the audit trail.
   * @default "prometheus-recovery"
   */
  readonly name?: string;
  /**
   * The symptom, in PromQL; the same placeholders as `prometheusMetrics` queries. With several
   * series, every one must be below the threshold.
   * @default defaultErrorRateQuery
   */
  readonly query?: string;
  /**
   * Recovered while every value is strictly below this.
   * @default 0.05
   */
  readonly threshold?: number;
  /**
   * Per alert name, the symptom to watch instead of `query` and `threshold`: a scale-up for
   * `HighCPU` is verified by CPU usage, not by the error rate. Same placeholders as `query`.
   * @default {} (every incident by `query`)
   */
  readonly byAlert?: Readonly<Record<string, { readonly query: string; readonly threshold: number }>>;
  /**
   * How long the values must stay below the threshold without a break.
   * @default "30s"
   */
  readonly hold?: Duration;
  /**
   * How long after the verification starts the hold must be complete; the verdict is `failed`
   * as soon as that is no longer possible.
   * @default "10m"
   */
  readonly deadline?: Duration;
  /**
   * Time between two queries.
   * @default "1s"
   */
  readonly interval?: Duration;
  /**
   * The range `{{window}}` stands for.
   * @default "5m"
   */
  readonly window?: string;
  /**
   * Whether "no data" (an empty result) counts as recovered. Off by default: a service that
   * stopped answering altogether has no error rate either.
   * @default false
   */
  readonly emptyMeansRecovered?: boolean;
  /**
   * Time limit of each query, in milliseconds; also sent as Prometheus's `timeout`.
   * @default 2000
   */
  readonly queryTimeoutMs?: number;
  /**
   * HTTP method of queries.
   * @default "POST"
   */
  readonly method?: "GET" | "POST";
}

/** One poll, as kept in the evidence. */
interface Poll {
  readonly at: string;
  readonly status: "below" | "above" | "no_data" | "not_finite" | "error";
  readonly value?: number;
  readonly error?: string;
}

const keptPolls = 60;

/**
 * A recovery verifier: polls a PromQL expression until it has stayed below `threshold` for
 * `hold`, or fails once that can no longer happen before `deadline`. It reads the metric itself and
 * never waits for Alertmanager's resolved notification (which comes late, or not at all when the
 * receiver is down). A failed query breaks the hold, like a value above the threshold.
 *
 * @example
 * prometheusRecovery({ url: "http://prometheus:9090", threshold: 0.05, hold: "30s", deadline: "10m" })
 */
export function prometheusRecovery(settings: PrometheusRecoverySettings): Verifier {
  const name = settings.name ?? "prometheus-recovery";
  const fallback = {
    template: compilePromql(settings.query ?? defaultErrorRateQuery, "query"),
    threshold: settings.threshold ?? 0.05,
  };
  if (!Number.isFinite(fallback.threshold)) throw bad("threshold must be a finite number", "threshold");
  const byAlert = new Map(
    Object.entries(settings.byAlert ?? {}).map(([alertname, symptom]) => {
      if (!Number.isFinite(symptom.threshold)) {
        throw bad(`byAlert.${alertname}.threshold must be a finite number`, `byAlert.${alertname}.threshold`);
      }
      return [
        alertname,
        {
          template: compilePromql(symptom.query, `byAlert.${alertname}.query`),
          threshold: symptom.threshold,
        },
      ] as const;
    }),
  );
  const holdMs = toMs(settings.hold ?? "30s", "hold");
  const deadlineMs = toMs(settings.deadline ?? "10m", "deadline");
  const intervalMs = toMs(settings.interval ?? "1s", "interval");
  if (intervalMs <= 0) throw bad("interval must be above zero", "interval");
  const window = checkPromDuration(settings.window ?? "5m", "window");
  const queryTimeoutMs = settings.queryTimeoutMs ?? 2000;
  if (!(Number.isFinite(queryTimeoutMs) && queryTimeoutMs > 0)) {
    throw bad("queryTimeoutMs must be a positive number", "queryTimeoutMs");
  }
  const emptyMeansRecovered = settings.emptyMeansRecovered ?? false;
  const method = settings.method ?? "POST";
  const client = createHttpClient("prometheus", settings);

  return {
    name,
    stage: "recovery",
    // Room for the last query after the deadline, so the verdict is ours and not a timeout.
    timeoutMs: deadlineMs + queryTimeoutMs + 5000,
    async verify({ incident, signal }): Promise<VerificationResult> {
      const { template, threshold } = byAlert.get(incident.alertname) ?? fallback;
      const rendered = template.render(promqlValuesOf(incident, window));
      if ("missing" in rendered) {
        return verdict(
          "failed",
          `the incident has no ${rendered.missing}, so ${template.source} cannot be asked`,
          {
            query: template.source,
          },
        );
      }
      const query = rendered.query;
      const startedAt = Date.now();
      const deadlineAt = startedAt + deadlineMs;
      const polls: Poll[] = [];
      let pollCount = 0;
      let belowSince: number | undefined;
      const evidence = (): Record<string, JsonValue> => ({
        url: client.safeUrl,
        query,
        threshold,
        holdMs,
        deadline: new Date(deadlineAt).toISOString(),
        emptyMeansRecovered,
        pollCount,
        polls: polls.map((poll) => ({ ...poll })),
      });
      for (;;) {
        throwIfAborted(signal, name);
        const poll = await pollOnce(query, signal);
        throwIfAborted(signal, name);
        pollCount += 1;
        polls.push(poll);
        if (polls.length > keptPolls) polls.shift();
        const now = Date.now();
        const recovered = poll.status === "below" || (poll.status === "no_data" && emptyMeansRecovered);
        if (recovered) belowSince ??= now;
        else belowSince = undefined;
        if (belowSince !== undefined && now - belowSince >= holdMs) {
          return verdict(
            "passed",
            `${query} stayed below ${threshold} for ${formatMs(now - belowSince)} (${pollCount} polls)`,
            evidence(),
          );
        }
        // The hold can end no sooner than (start of the current run, or now) + hold.
        if ((belowSince ?? now) + holdMs > deadlineAt) {
          return verdict(
            "failed",
            `${query} did not stay below ${threshold} for ${formatMs(holdMs)} within ${formatMs(deadlineMs)}; last: ${describePoll(poll)}`,
            evidence(),
          );
        }
        await sleep(Math.min(intervalMs, Math.max(0, deadlineAt - now)), signal).catch(() => undefined);
      }

      async function pollOnce(text: string, callSignal: AbortSignal): Promise<Poll> {
        const at = new Date().toISOString();
        try {
          const answer = await instantQuery(client, text, {
            signal: callSignal,
            timeoutMs: queryTimeoutMs,
            method,
          });
          if (answer.samples.length === 0) return { at, status: "no_data" };
          const value = Math.max(...answer.samples.map((sample) => sample.value));
          if (answer.samples.some((sample) => !Number.isFinite(sample.value)))
            return { at, status: "not_finite" };
          return { at, status: value < threshold ? "below" : "above", value };
        } catch (error) {
          return { at, status: "error", error: describeError(error) };
        }
      }
    },
  };

  function verdict(
    outcome: "passed" | "failed",
    reason: string,
    evidence: Record<string, JsonValue>,
  ): VerificationResult {
    return { verifier: name, outcome, reason, observedAt: new Date().toISOString(), evidence };
  }
}

function describePoll(poll: Poll): string {
  if (poll.status === "error") return `query failed: ${poll.error ?? ""}`;
  if (poll.status === "no_data") return "no data";
  if (poll.status === "not_finite") return "not a number";
  return String(poll.value);
}

function throwIfAborted(signal: AbortSignal, name: string): void {
  if (signal.aborted) {
    throw new SelfHealError(`${name}: verification cancelled`, {
      adapter: "prometheus",
      operation: "verify",
      cause: signal.reason,
    });
  }
}

function bad(message: string, path: string): BadInputError {
  return new BadInputError(`prometheusRecovery: ${message}`, { adapter: "prometheus", path });
}
