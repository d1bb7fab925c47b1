import type { TracerProvider as TracerProviderApi } from "@opentelemetry/api";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { MeterProvider, type MetricReader, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { incidentIdGenerator, toMs } from "@selfheal/core";
import type { SelfhealConfig } from "../config/selfheal-config.js";

/** The providers of `telemetry`: metrics served for Prometheus and/or pushed, traces pushed. */
export interface WiredTelemetry {
  /** Where the controller's metrics go, when any reader is configured. */
  readonly meterProvider?: MeterProvider;
  /** Where the incidents' spans go, when OTLP traces are on. */
  readonly tracerProvider?: TracerProviderApi;
  /** Where the metrics are served for Prometheus (`telemetry.prometheus`). */
  readonly url?: string;
  /** Where traces and metrics are pushed over OTLP. */
  readonly otlp?: { readonly traces?: string; readonly metrics?: string };
  /** Header values of the OTLP exports (from the config or the environment): credentials. */
  readonly secrets: readonly string[];
  /** Push what is buffered, then stop. */
  close(): Promise<void>;
}

/** `telemetry.otlp` after the `OTEL_*` environment is applied, or undefined when OTLP is off. */
export interface OtlpSettings {
  readonly tracesUrl?: string;
  readonly metricsUrl?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly metricsIntervalMs: number;
  readonly serviceName: string;
}

/**
 * Resolve `telemetry.otlp` with the standard variables of the OpenTelemetry specification
 * (`OTEL_SDK_DISABLED`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_{TRACES,METRICS}_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_SERVICE_NAME`). The config wins over the environment, except
 * that a signal-specific endpoint variable is taken as it is. OTLP is on when the config has
 * `telemetry.otlp` or the environment names an endpoint.
 */
export function otlpSettings(
  config: SelfhealConfig["telemetry"],
  env: NodeJS.ProcessEnv = process.env,
): OtlpSettings | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const otlp = config.otlp;
  const fromEnv = nonEmpty(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  const tracesEnv = nonEmpty(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const metricsEnv = nonEmpty(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT);
  if (otlp === undefined && fromEnv === undefined && tracesEnv === undefined && metricsEnv === undefined) {
    return undefined;
  }
  const base = (otlp?.endpoint ?? fromEnv ?? "http://localhost:4318").replace(/\/+$/, "");
  const traces = otlp?.traces ?? true;
  const metrics = otlp?.metrics ?? true;
  return {
    ...(traces ? { tracesUrl: tracesEnv ?? `${base}/v1/traces` } : {}),
    ...(metrics ? { metricsUrl: metricsEnv ?? `${base}/v1/metrics` } : {}),
    headers: { ...parseOtlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...(otlp?.headers ?? {}) },
    metricsIntervalMs: toMs(otlp?.metricsInterval ?? "15s", "telemetry.otlp.metricsInterval"),
    serviceName: otlp?.serviceName ?? nonEmpty(env.OTEL_SERVICE_NAME) ?? "selfheal",
  };
}

/**
 * `OTEL_EXPORTER_OTLP_HEADERS`: `key1=value1,key2=value2`, values URL-encoded (W3C Baggage
 * style, as the specification says). Entries without `=` are left out.
 */
export function parseOtlpHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const entry of (text ?? "").split(",")) {
    const at = entry.indexOf("=");
    if (at <= 0) continue;
    const key = entry.slice(0, at).trim();
    const raw = entry.slice(at + 1).trim();
    if (key === "") continue;
    try {
      headers[key] = decodeURIComponent(raw);
    } catch {
      headers[key] = raw;
    }
  }
  return headers;
}

/**
 * Start what `telemetry` asks for: the Prometheus exporter of `telemetry.prometheus`, and the
 * OTLP exporters of `telemetry.otlp` (or the `OTEL_*` environment). Traces use
 * {@link incidentIdGenerator}, so each incident's root span is written with the ids its stages
 * point at. `undefined` when nothing is configured.
 */
export async function wireTelemetry(
  config: SelfhealConfig["telemetry"],
  env: NodeJS.ProcessEnv = process.env,
): Promise<WiredTelemetry | undefined> {
  const prometheus = config.prometheus;
  const otlp = otlpSettings(config, env);
  if (prometheus === undefined && otlp === undefined) return undefined;
  const resource = resourceFromAttributes({ "service.name": otlp?.serviceName ?? "selfheal" });
  const readers: MetricReader[] = [];
  if (prometheus !== undefined) {
    const exporter = new PrometheusExporter({
      host: prometheus.host,
      port: prometheus.port,
      endpoint: prometheus.path,
      preventServerStart: true,
    });
    await exporter.startServer();
    readers.push(exporter);
  }
  if (otlp?.metricsUrl !== undefined) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({ url: otlp.metricsUrl, headers: { ...otlp.headers } }),
        exportIntervalMillis: otlp.metricsIntervalMs,
        exportTimeoutMillis: Math.min(otlp.metricsIntervalMs, 30_000),
      }),
    );
  }
  const meterProvider = readers.length === 0 ? undefined : new MeterProvider({ resource, readers });
  const tracerProvider =
    otlp?.tracesUrl === undefined
      ? undefined
      : new TracerProvider({
          resource,
          idGenerator: incidentIdGenerator(),
          spanProcessors: [
            new BatchSpanProcessor({
              exporter: new OTLPTraceExporter({ url: otlp.tracesUrl, headers: { ...otlp.headers } }),
            }),
          ],
        });
  return {
    ...(meterProvider === undefined ? {} : { meterProvider }),
    ...(tracerProvider === undefined ? {} : { tracerProvider }),
    ...(prometheus === undefined
      ? {}
      : { url: `http://${prometheus.host}:${prometheus.port}${prometheus.path}` }),
    ...(otlp === undefined
      ? {}
      : {
          otlp: {
            ...(otlp.tracesUrl === undefined ? {} : { traces: otlp.tracesUrl }),
            ...(otlp.metricsUrl === undefined ? {} : { metrics: otlp.metricsUrl }),
          },
        }),
    secrets: Object.values(otlp?.headers ?? {}).filter((value) => value !== ""),
    close: async () => {
      await Promise.allSettled([tracerProvider?.shutdown(), meterProvider?.shutdown()]);
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? undefined : trimmed;
}
