import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import type { SelfhealConfig } from "../config/selfheal-config.js";

/** The meter provider of `telemetry`, serving `/metrics` on its own port. */
export interface WiredTelemetry {
  readonly meterProvider: MeterProvider;
  /** Where the metrics are served. */
  readonly url: string;
  close(): Promise<void>;
}

/** Start the Prometheus exporter of `telemetry.prometheus`; `undefined` when not configured. */
export async function wireTelemetry(
  config: SelfhealConfig["telemetry"],
): Promise<WiredTelemetry | undefined> {
  const prometheus = config.prometheus;
  if (prometheus === undefined) return undefined;
  const exporter = new PrometheusExporter({
    host: prometheus.host,
    port: prometheus.port,
    endpoint: prometheus.path,
    preventServerStart: true,
  });
  await exporter.startServer();
  const meterProvider = new MeterProvider({ readers: [exporter] });
  return {
    meterProvider,
    url: `http://${prometheus.host}:${prometheus.port}${prometheus.path}`,
    close: async () => {
      await meterProvider.shutdown();
    },
  };
}
