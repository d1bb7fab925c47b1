import { SelfHealError } from "@selfheal/core";
import { z } from "zod";
import { bodyPreview, type HttpClient, parseJson } from "./http-client.js";

/** A sample value as Prometheus writes it: `[unix seconds, "value"]`. */
const SampleValue = z.tuple([z.number(), z.string()]);

/** The success envelope of `/api/v1/query` (`QueryOutputBody`), only the fields we read. */
export const PrometheusQueryResponse = z.object({
  status: z.literal("success"),
  data: z.discriminatedUnion("resultType", [
    z.object({
      resultType: z.literal("vector"),
      // A native-histogram sample has `histogram` instead of `value`.
      result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: SampleValue.optional() })),
    }),
    z.object({ resultType: z.literal("scalar"), result: SampleValue }),
    z.object({ resultType: z.literal("matrix"), result: z.array(z.unknown()) }),
    z.object({ resultType: z.literal("string"), result: z.unknown() }),
  ]),
  warnings: z.array(z.string()).optional(),
});
export type PrometheusQueryResponse = z.infer<typeof PrometheusQueryResponse>;

/** The error envelope (`Error`), only the fields we read. */
export const PrometheusErrorResponse = z.object({
  status: z.literal("error"),
  errorType: z.string(),
  error: z.string(),
});
export type PrometheusErrorResponse = z.infer<typeof PrometheusErrorResponse>;

/** One series of an instant query's answer. */
export interface PrometheusSample {
  readonly labels: Readonly<Record<string, string>>;
  /** The value; `NaN` and `±Inf` come through as such. */
  readonly value: number;
}

/** What an instant query answered: its samples (none means "no data"), and Prometheus's warnings. */
export interface InstantQueryAnswer {
  readonly samples: readonly PrometheusSample[];
  readonly warnings: readonly string[];
}

/** How instant queries are sent. */
export interface InstantQueryOptions {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  readonly method: "GET" | "POST";
}

/**
 * Run an instant query (`/api/v1/query`) and read its samples. The time limit is also passed as
 * Prometheus's `timeout`, so the server stops evaluating when we stop waiting. Throws a
 * `SelfHealError` (adapter `prometheus`, operation `query`) for an error answer, a body that is
 * not the documented envelope, or a matrix or string result.
 */
export async function instantQuery(
  client: HttpClient,
  query: string,
  options: InstantQueryOptions,
): Promise<InstantQueryAnswer> {
  const params = new URLSearchParams({ query, timeout: `${Math.max(1, Math.floor(options.timeoutMs))}ms` });
  const call = {
    operation: "query",
    method: options.method,
    path: "/api/v1/query",
    ...(options.method === "POST" ? { form: params } : { query: params }),
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  } as const;
  const answer = await client.send(call);
  const json = parseJson(answer.body);
  if (answer.status < 200 || answer.status >= 300) {
    const failure = PrometheusErrorResponse.safeParse(json);
    throw client.statusError(
      call,
      answer,
      failure.success ? `${failure.data.errorType}: ${failure.data.error}` : bodyPreview(answer.body),
    );
  }
  const parsed = PrometheusQueryResponse.safeParse(json);
  if (!parsed.success) {
    throw client.unexpectedBody(call, answer, parsed.error);
  }
  const data = parsed.data.data;
  const warnings = parsed.data.warnings ?? [];
  if (data.resultType === "scalar")
    return { samples: [{ labels: {}, value: toNumber(data.result[1]) }], warnings };
  if (data.resultType !== "vector") {
    throw new SelfHealError(
      `prometheus query: a ${data.resultType} result is not a number; use an instant vector or scalar`,
      {
        adapter: "prometheus",
        operation: "query",
        url: answer.url,
        status: answer.status,
      },
    );
  }
  const samples: PrometheusSample[] = [];
  for (const series of data.result) {
    // A native histogram has no single value: treat it as not a number.
    samples.push({
      labels: series.metric,
      value: series.value === undefined ? Number.NaN : toNumber(series.value[1]),
    });
  }
  return { samples, warnings };
}

/** Prometheus writes values as strings: `"0.25"`, `"NaN"`, `"+Inf"`, `"-Inf"`. */
function toNumber(text: string): number {
  if (text === "+Inf" || text === "Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(text);
}
