import { describeError, type JsonValue, SelfHealError } from "@selfheal/core";
import type { HttpClient } from "./http-client.js";
import { instantQuery, type PrometheusSample } from "./prometheus-query.js";
import type { PromqlTemplate, PromqlValues } from "./promql-template.js";

/**
 * What one query gave: `ok` with a finite value; `empty` (no data: not zero); `ambiguous` (more
 * than one series, none picked); `not_finite` (NaN or ±Inf); `unrenderable` (the incident lacks a
 * label the template names); `error` (the query failed).
 */
export type MetricReading =
  | {
      readonly status: "ok";
      readonly query: string;
      readonly value: number;
      readonly warnings: readonly string[];
    }
  | { readonly status: "empty"; readonly query: string; readonly warnings: readonly string[] }
  | {
      readonly status: "ambiguous";
      readonly query: string;
      readonly series: number;
      readonly warnings: readonly string[];
    }
  | {
      readonly status: "not_finite";
      readonly query: string;
      readonly value: string;
      readonly warnings: readonly string[];
    }
  | { readonly status: "unrenderable"; readonly query: string; readonly missing: string }
  | {
      readonly status: "error";
      readonly query: string;
      readonly error: string;
      /** Prometheus could not answer (unreachable, timeout, 5xx): an outage, not a bad query. */
      readonly outage: boolean;
    };

/** How a reading is taken. */
export interface ReadingOptions {
  readonly client: HttpClient;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly method: "GET" | "POST";
}

/** Render `template` for the incident and run it; never throws (a failure is a reading). */
export async function readMetric(
  template: PromqlTemplate,
  values: PromqlValues,
  options: ReadingOptions,
): Promise<MetricReading> {
  const rendered = template.render(values);
  if ("missing" in rendered) {
    return { status: "unrenderable", query: template.source, missing: rendered.missing };
  }
  return readQuery(rendered.query, options);
}

/**
 * Run `query` and read one value from the series `keep` accepts (all by default); never throws
 * (a failure is a reading).
 */
export async function readQuery(
  query: string,
  options: ReadingOptions,
  keep?: (sample: PrometheusSample) => boolean,
): Promise<MetricReading> {
  try {
    const answer = await instantQuery(options.client, query, options);
    const warnings = answer.warnings;
    const samples = keep === undefined ? answer.samples : answer.samples.filter(keep);
    const [first, ...rest] = samples;
    if (first === undefined) return { status: "empty", query, warnings };
    if (rest.length > 0) return { status: "ambiguous", query, series: samples.length, warnings };
    if (!Number.isFinite(first.value))
      return { status: "not_finite", query, value: String(first.value), warnings };
    return { status: "ok", query, value: first.value, warnings };
  } catch (error) {
    return { status: "error", query, error: describeError(error), outage: isOutage(error) };
  }
}

/** Whether a failed call means Prometheus could not answer, rather than that the query is wrong. */
export function isOutage(error: unknown): boolean {
  return !SelfHealError.isInstance(error) || error.retryable;
}

/** A warning for the audit trail when a reading left the metric unknown; `undefined` for ok and empty. */
export function warningOf(name: string, reading: MetricReading): string | undefined {
  switch (reading.status) {
    case "ok":
    case "empty":
      return undefined;
    case "ambiguous":
      return `${name}: the query returned ${reading.series} series, expected one; aggregate it (sum, max) so it names one value`;
    case "not_finite":
      return `${name}: the query returned ${reading.value}`;
    case "unrenderable":
      return `${name}: the incident has no ${reading.missing}, so the query was not run`;
    case "error":
      return `${name}: ${reading.error}`;
  }
}

/** The reading as evidence: the query, what came back. */
export function readingFacts(reading: MetricReading): JsonValue {
  const facts: Record<string, JsonValue> = { query: reading.query, status: reading.status };
  if (reading.status === "ok") facts.value = reading.value;
  if (reading.status === "not_finite") facts.value = reading.value;
  if (reading.status === "ambiguous") facts.series = reading.series;
  if (reading.status === "unrenderable") facts.missing = reading.missing;
  if (reading.status === "error") facts.error = reading.error;
  if ("warnings" in reading && reading.warnings.length > 0) facts.prometheusWarnings = [...reading.warnings];
  return facts;
}
