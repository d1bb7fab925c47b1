import { toMs } from "@selfheal/core";
import { z } from "zod";
import { DurationConfig, HttpUrl, NotificationKinds, Port, StringMap } from "./schema-parts.js";

/** `listen`: where the controller's HTTP server (webhooks, `/healthz`, `/readyz`) answers. */
export const ListenConfig = z
  .strictObject({
    host: z.string().min(1).default("0.0.0.0").describe("Address to listen on."),
    port: Port.default(9090).describe("Port to listen on; 0 lets the system choose."),
    headersTimeout: DurationConfig.optional().describe(
      "Longest time to receive one request's headers (default 10s); a client that trickles them, or connects and says nothing, is answered 408 and disconnected.",
    ),
    requestTimeout: DurationConfig.optional().describe(
      "Longest time to receive one whole request, headers and body (default 30s); not counted once the body is in. At least headersTimeout.",
    ),
    keepAliveTimeout: DurationConfig.optional().describe(
      "How long a kept-alive connection may stay idle between requests (default 310s). Keep it above Alertmanager's client idle timeout (5m): shorter, the server closes connections Alertmanager is about to reuse and notifications fail with EOF.",
    ),
  })
  .superRefine((listen, context) => {
    // Checked here too, so `selfheal check` says it before `run` would fail to listen.
    const headersMs = msOrNaN(listen.headersTimeout ?? "10s");
    const requestMs = msOrNaN(listen.requestTimeout ?? "30s");
    if (headersMs > requestMs) {
      context.addIssue({
        code: "custom",
        path: ["headersTimeout"],
        message: `must not be longer than listen.requestTimeout (${requestMs} ms): the headers are part of the request`,
      });
    }
  });

/** `sources`: where signals come from. */
export const SourcesConfig = z.strictObject({
  alertmanager: z
    .strictObject({
      path: z
        .string()
        .regex(/^\//, "expected a path starting with /")
        .default("/webhook/alertmanager")
        .describe("Path of the webhook."),
      bearerToken: z
        .string()
        .min(1)
        .optional()
        .describe(
          "Token Alertmanager must send as `Authorization: Bearer`; keep it in an environment variable.",
        ),
      serviceLabel: z.string().min(1).default("service").describe("Label naming the service."),
      maxBodyBytes: z.number().int().positive().optional().describe("Largest payload accepted."),
    })
    .optional()
    .describe("The Alertmanager webhook (webhook_configs[].url points here)."),
  argocd: z
    .strictObject({
      path: z
        .string()
        .regex(/^\//, "expected a path starting with /")
        .default("/webhook/argocd")
        .describe(
          "Path of the webhook (the url of service.webhook.selfheal in argocd-notifications-cm ends with it).",
        ),
      bearerToken: z
        .string()
        .min(1)
        .optional()
        .describe(
          "Token the notifications' webhook service sends as `Authorization: Bearer` ($selfheal-webhook-token); keep it in an environment variable.",
        ),
      serviceLabel: z
        .string()
        .min(1)
        .optional()
        .describe("A label of the Application naming the service. @default the application's name"),
      applications: StringMap.optional().describe(
        "Application name → service, for applications named otherwise; wins over serviceLabel.",
      ),
      maxBodyBytes: z.number().int().positive().optional().describe("Largest payload accepted."),
    })
    .optional()
    .describe(
      "Argo CD's own notifications (examples/deploy/argocd/notifications.yaml): a failed sync, or Degraded soon after a release.",
    ),
});

/** `enrich`: facts added before deciding. */
export const EnrichConfig = z.strictObject({
  prometheus: z
    .strictObject({
      url: HttpUrl.describe("Prometheus base URL."),
      bearerToken: z.string().min(1).optional(),
      queries: z
        .record(z.string(), z.string().nullable())
        .optional()
        .describe("PromQL per metric name, merged over the defaults; null drops a default."),
      window: z.string().min(1).default("5m").describe("The range {{window}} stands for."),
      timeout: DurationConfig.default("5s").describe("Time limit of the whole enricher."),
      queryTimeout: DurationConfig.default("2s").describe("Time limit of each query."),
      levelCheck: z
        .boolean()
        .default(true)
        .describe("Cancel the incident when its alert condition no longer holds."),
      alertExpressions: z.record(z.string(), z.string().nullable()).optional(),
    })
    .optional()
    .describe("Metrics from Prometheus (error_rate, restart_count, cpu_usage)."),
  gitopsDeployment: z
    .boolean()
    .default(true)
    .describe(
      "Read the deployment (image, previous image, replicas) from the config repo of remediate.gitops.",
    ),
  argocdStatus: z
    .boolean()
    .default(false)
    .describe(
      "Add the application's Argo CD sync and health status and last deployed revisions as facts (uses verify.argocd's connection and app).",
    ),
});

/** `verify`: checks that an action worked. */
export const VerifyConfig = z.strictObject({
  argocd: z
    .strictObject({
      url: HttpUrl.describe("Argo CD API base URL."),
      token: z.string().min(1).optional().describe("Argo CD API token; keep it in an environment variable."),
      app: z
        .string()
        .min(1)
        .default("{service}")
        .describe("Application name; {service} and {alertname} are replaced."),
      project: z.string().min(1).optional(),
      appNamespace: z.string().min(1).optional(),
      ca: z.string().min(1).optional().describe("CA certificate: PEM text, or the path of a PEM file."),
      insecure: z.boolean().default(false).describe("Skip TLS verification (never in production)."),
      sync: z.boolean().default(false).describe("Also start a sync (for applications without auto-sync)."),
      refreshAfterPush: z
        .boolean()
        .default(true)
        .describe("Ask Argo CD to refresh right after a change lands."),
      timeout: DurationConfig.default("10m").describe("Most time the sync check may take."),
      degradedGrace: DurationConfig.default("30s"),
    })
    .optional()
    .describe("Wait until Argo CD has synced our commit and the application is Healthy."),
  prometheusRecovery: z
    .strictObject({
      url: HttpUrl.optional().describe("Prometheus base URL. @default enrich.prometheus.url"),
      bearerToken: z.string().min(1).optional(),
      query: z
        .string()
        .min(1)
        .optional()
        .describe("PromQL that must stay below `below`. @default the error rate"),
      below: z.number().default(0.05),
      hold: DurationConfig.default("30s").describe("How long it must stay below."),
      deadline: DurationConfig.default("10m").describe("Give up (failed) after this long."),
      interval: DurationConfig.default("1s"),
      window: z.string().min(1).default("5m"),
      byAlert: z
        .record(
          z.string().min(1),
          z.strictObject({
            query: z.string().min(1).describe("PromQL that must stay below `below` for this alert."),
            below: z.number().describe("The threshold for this alert."),
          }),
        )
        .optional()
        .describe(
          "Per alert name, the symptom to watch instead of `query`/`below`: a scale-up is verified by its CPU, not by the error rate. @default { HighCPU: { query: the cpu_usage query, below: 0.8 } }",
        ),
    })
    .optional()
    .describe("Wait until the symptom is gone: a PromQL expression stays below a threshold."),
});

/** `notify`: tell people. */
export const NotifyConfig = z.strictObject({
  slack: z
    .strictObject({
      url: HttpUrl.describe("Slack incoming webhook URL; keep it in an environment variable."),
      kinds: NotificationKinds.optional(),
    })
    .optional(),
  webhook: z
    .strictObject({
      url: HttpUrl,
      headers: StringMap.optional(),
      kinds: NotificationKinds.optional(),
    })
    .optional()
    .describe("A generic JSON webhook."),
});

/** `telemetry.otlp`: traces and metrics pushed over OTLP (HTTP/protobuf). */
export const OtlpConfig = z.strictObject({
  endpoint: HttpUrl.optional().describe(
    "Base URL of the OTLP/HTTP receiver (a collector, Jaeger, ...); /v1/traces and /v1/metrics are appended. Default: OTEL_EXPORTER_OTLP_ENDPOINT, else http://localhost:4318. OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / _METRICS_ENDPOINT, when set, are used as they are.",
  ),
  headers: StringMap.optional().describe(
    "Headers of every export request (an authorization token); merged over OTEL_EXPORTER_OTLP_HEADERS. Redacted wherever they could show up.",
  ),
  traces: z
    .boolean()
    .default(true)
    .describe("One trace per incident: a root span from opening to close and a span per stage."),
  metrics: z
    .boolean()
    .default(true)
    .describe("The controller's metrics (the ones telemetry.prometheus serves)."),
  metricsInterval: DurationConfig.default("15s").describe("How often metrics are pushed."),
  serviceName: z
    .string()
    .min(1)
    .optional()
    .describe("The resource's service.name. Default: OTEL_SERVICE_NAME, else selfheal."),
});

/** `telemetry`: metrics exported for Prometheus to scrape, traces and metrics pushed over OTLP. */
export const TelemetryConfig = z.strictObject({
  prometheus: z
    .strictObject({
      host: z.string().min(1).default("0.0.0.0"),
      port: Port.default(9464),
      path: z.string().regex(/^\//, "expected a path starting with /").default("/metrics"),
    })
    .optional()
    .describe("Serve OpenTelemetry metrics in the Prometheus format on their own port."),
  otlp: OtlpConfig.optional().describe(
    "Push traces and metrics over OTLP/HTTP (protobuf). Also on without this key when OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; OTEL_SDK_DISABLED=true turns it off.",
  ),
});

/** `hooks`: work around a remediation. */
export const HooksConfig = z.strictObject({
  alertmanagerSilence: z
    .strictObject({
      url: HttpUrl.describe("Alertmanager base URL."),
      bearerToken: z.string().min(1).optional(),
      duration: z
        .string()
        .min(1)
        .default("1h")
        .describe("How long a silence lasts at most (it is expired when the incident closes)."),
    })
    .optional()
    .describe("Silence the incident's alert in Alertmanager while its remediation is in flight."),
});

/** A duration in ms; NaN (which compares false) for one its own schema already reports. */
function msOrNaN(duration: number | string): number {
  try {
    return toMs(duration);
  } catch {
    return Number.NaN;
  }
}
