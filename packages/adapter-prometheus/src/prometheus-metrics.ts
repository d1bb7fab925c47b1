import {
  BadInputError,
  type DecisionMetrics,
  type Enricher,
  type Enrichment,
  type JsonValue,
  SelfHealError,
} from "@selfheal/core";
import { createAlertRules, readRuleCondition } from "./alert-rules.js";
import { defaultAlertExpressions, defaultMetricQueries } from "./default-queries.js";
import { createHttpClient, type HttpConnectionSettings } from "./http-client.js";
import { type MetricReading, readingFacts, readMetric, warningOf } from "./metric-reading.js";
import { checkPromDuration, compilePromql, type PromqlTemplate, promqlValuesOf } from "./promql-template.js";

/** Settings of `prometheusMetrics`. */
export interface PrometheusMetricsSettings extends HttpConnectionSettings {
  /**
   * Name in the audit trail and key of the facts in `input.facts`.
   * @default "prometheus"
   */
  readonly name?: string;
  /**
   * PromQL per metric name, merged over the defaults (`error_rate`, `restart_count`,
   * `cpu_usage`); `null` drops a default. Each must return one series or a scalar. Placeholders:
   * `{{service}}`, `{{alertname}}`, `{{labels.NAME}}` inside double-quoted strings (escaped;
   * `{{NAME|regex}}` for `=~`), `{{window}}` for the range.
   * @default defaultMetricQueries
   */
  readonly queries?: Readonly<Record<string, string | null>>;
  /**
   * The range `{{window}}` stands for (a Prometheus duration).
   * @default "5m"
   */
  readonly window?: string;
  /**
   * Time limit of each query, in milliseconds; also sent as Prometheus's `timeout`.
   * @default 2000
   */
  readonly queryTimeoutMs?: number;
  /**
   * Time limit of the whole enricher, in milliseconds (queries run concurrently).
   * @default 5000
   */
  readonly timeoutMs?: number;
  /**
   * HTTP method of queries. POST keeps long queries out of URLs and access logs.
   * @default "POST"
   */
  readonly method?: "GET" | "POST";
  /**
   * Re-evaluate the alert's condition now and mark the incident stale when it no longer holds.
   * The condition is the alert's expression in `alertExpressions` (or a built-in one), else the
   * expression of the alerting rule of that name as this Prometheus serves it (`/api/v1/rules`).
   * Never the `generatorURL` of the payload: that is the sender's word, not Prometheus's.
   * @default true
   */
  readonly levelCheck?: boolean;
  /**
   * How long the alerting rules read from Prometheus for the level check are kept, in ms.
   * @default 30_000
   */
  readonly rulesTtlMs?: number;
  /**
   * The condition of each alert, by alert name, merged over the built-in ones (the seed's
   * `HighErrorRate`); `null` drops one. Same placeholders as `queries`; an empty result means
   * the condition no longer holds.
   * @default defaultAlertExpressions
   */
  readonly alertExpressions?: Readonly<Record<string, string | null>>;
}

const defaultQueryTimeoutMs = 2000;
const defaultWindow = "5m";

/**
 * An enricher that reads the incident's metrics from Prometheus with instant queries, run
 * concurrently, and checks that the alert's condition still holds. A metric that cannot be read
 * (failed query, no data, NaN, several series) is left out with a warning, never set to zero.
 *
 * @example
 * prometheusMetrics({ url: "http://prometheus:9090", queries: { latency_p99: "..." } })
 */
export function prometheusMetrics(settings: PrometheusMetricsSettings): Enricher {
  const name = settings.name ?? "prometheus";
  const window = checkPromDuration(settings.window ?? defaultWindow, "window");
  const queryTimeoutMs = settings.queryTimeoutMs ?? defaultQueryTimeoutMs;
  if (!(Number.isFinite(queryTimeoutMs) && queryTimeoutMs > 0)) {
    throw new BadInputError("prometheusMetrics: queryTimeoutMs must be a positive number", {
      adapter: "prometheus",
      path: "queryTimeoutMs",
    });
  }
  const client = createHttpClient("prometheus", settings);
  const method = settings.method ?? "POST";
  const queries = compileAll({ ...defaultMetricQueries, ...settings.queries }, "queries");
  const levelCheck = settings.levelCheck ?? true;
  const rules = createAlertRules(client, { ttlMs: settings.rulesTtlMs ?? 30_000 });
  const alertExpressions = compileAll(
    { ...defaultAlertExpressions, ...settings.alertExpressions },
    "alertExpressions",
  );

  return {
    name,
    timeoutMs: settings.timeoutMs ?? 5000,
    async enrich({ incident, signal }) {
      const values = promqlValuesOf(incident, window);
      const options = { client, signal, timeoutMs: queryTimeoutMs, method } as const;
      const expression = levelCheck ? alertExpressions.get(incident.alertname) : undefined;
      const [readings, check] = await Promise.all([
        Promise.all(
          [...queries].map(
            async ([metric, template]) => [metric, await readMetric(template, values, options)] as const,
          ),
        ),
        expression !== undefined
          ? readMetric(expression, values, options)
          : levelCheck
            ? readRuleCondition(rules, incident, options)
            : undefined,
      ]);
      // Readings swallow errors; a cancelled enrichment must not look like a finished one.
      if (signal.aborted) {
        throw new SelfHealError(`${name}: enrichment cancelled`, {
          adapter: "prometheus",
          operation: "enrich",
          incidentId: incident.id,
          cause: signal.reason,
        });
      }
      const metrics: Record<string, number> = {};
      const warnings: string[] = [];
      // Prometheus that cannot answer is an outage the controller retries after, not a warning.
      const failures: string[] = [];
      const queryFacts: Record<string, JsonValue> = {};
      const unknown: Record<string, string> = {};
      for (const [metric, reading] of readings) {
        if (reading.status === "ok") metrics[metric] = reading.value;
        else unknown[metric] = unknownCause(reading);
        collectProblems(metric, reading, warnings, failures);
        queryFacts[metric] = readingFacts(reading);
      }
      const facts: Record<string, JsonValue> = { url: client.safeUrl, window, queries: queryFacts };
      const enrichment: { -readonly [K in keyof Enrichment]: Enrichment[K] } = {
        metrics: metrics as DecisionMetrics,
      };
      if (check === undefined) {
        facts.levelCheck = levelCheck
          ? `no expression known for alert ${incident.alertname} (none configured, no alerting rule of that name in Prometheus)`
          : "disabled";
      } else {
        const failed = check.status === "error" || check.status === "unrenderable";
        const holds = failed ? "unknown" : check.status !== "empty";
        facts.levelCheck = { ...(readingFacts(check) as Record<string, JsonValue>), holds };
        const stale = staleOf(incident.alertname, check);
        if (stale !== undefined) enrichment.stale = stale;
        // A failed check says nothing about the condition: no stale verdict, a warning, and the
        // policy decides with what is known. Several series just mean it holds for several.
        if (failed) collectProblems("level check", check, warnings, failures);
      }
      enrichment.facts = facts;
      if (warnings.length > 0) enrichment.warnings = warnings;
      if (failures.length > 0) enrichment.failures = failures;
      if (Object.keys(unknown).length > 0) enrichment.unknown = unknown;
      return enrichment;
    },
  };
}

/**
 * Stale only on a clear answer: the condition evaluated to no series. A series with a value (even
 * NaN) means the condition still holds; a failed evaluation is not evidence either way.
 */
function staleOf(alertname: string, check: MetricReading): { reason: string } | undefined {
  if (check.status !== "empty") return undefined;
  return { reason: `the condition of ${alertname} no longer holds: ${check.query} returned no series` };
}

/** Why a reading left its metric unknown, in words for a decision's reason. */
function unknownCause(reading: MetricReading): string {
  switch (reading.status) {
    case "unrenderable":
      return `its query was not run: it needs ${reading.missing}, which the alert does not have (set the label on the alert rule, or make the matcher optional: {{${reading.missing}?}})`;
    case "empty":
      return "its query returned no series";
    default:
      return (warningOf("", reading) ?? reading.status).replace(/^: /, "");
  }
}

function collectProblems(name: string, reading: MetricReading, warnings: string[], failures: string[]): void {
  const problem = warningOf(name, reading);
  if (problem !== undefined)
    (reading.status === "error" && reading.outage ? failures : warnings).push(problem);
  if ("warnings" in reading)
    for (const text of reading.warnings) warnings.push(`${name}: Prometheus: ${text}`);
}

function compileAll(
  sources: Readonly<Record<string, string | null>>,
  where: string,
): Map<string, PromqlTemplate> {
  const compiled = new Map<string, PromqlTemplate>();
  for (const [key, source] of Object.entries(sources)) {
    if (source === null) continue;
    compiled.set(key, compilePromql(source, `${where}.${key}`));
  }
  return compiled;
}
