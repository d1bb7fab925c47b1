import { defaultCpuUsageQuery, prometheusMetrics, prometheusRecovery } from "@selfheal/adapter-prometheus";
import { startAlertmanager, startPrometheus } from "@selfheal/adapter-prometheus/testing";
import type { Enricher, Verifier } from "@selfheal/core";
import { directMetrics } from "./direct-metrics.js";

/** What watches the service for the loop: who alerts, the metrics enricher, the recovery verifier. */
export interface LoopObservability {
  /** Adds `metrics.error_rate` and `metrics.cpu_usage` (over the window). */
  readonly enricher: Enricher;
  /**
   * Passes once the incident's symptom is gone for the hold: the error rate below 5 %, or for
   * HighCPU the CPU used below 80 % of the limits.
   */
  readonly recovery: Verifier;
  /** Prometheus's URL, with `kind: "prometheus"`. */
  readonly prometheusUrl?: string;
  /** Alertmanager's URL, with `kind: "prometheus"`. */
  readonly alertmanagerUrl?: string;
  /** Stop what was started (the servers also remove their folders). */
  stop(): Promise<void>;
}

/** Settings of {@link startLoopObservability}. */
export interface LoopObservabilitySettings {
  /** `prometheus`: the real servers; `direct`: `directMetrics`. */
  readonly kind: "prometheus" | "direct";
  /** The `service` label. */
  readonly service: string;
  /** The service's `/metrics`. */
  readonly metricsUrl: string;
  /** The controller's Alertmanager webhook. */
  readonly webhookUrl: string;
  /** Rate window, in seconds. */
  readonly windowS: number;
  /** How long recovery must hold, in seconds. */
  readonly holdS: number;
  /** The recovery verifier's deadline, in seconds. */
  readonly deadlineS: number;
}

/** The error ratio of the seed's HighErrorRate rule for `service`, over `windowS` seconds. */
export function errorRatioExpression(service: string, windowS: number): string {
  const selector = (extra: string) => `http_requests_total{${extra}service="${service}"}[${windowS}s]`;
  return `sum by (service) (rate(${selector('status=~"5..",')})) / sum by (service) (rate(${selector("")}))`;
}

/**
 * CPU used per CPU limit of the service's containers, by namespace and service: the shipped
 * HighCPU rule's expression (examples/deploy/prometheus/rules.yml) over `windowS` seconds.
 */
export function cpuRatioExpression(windowS: number): string {
  const asService = (series: string) => `label_replace(${series}, "service", "$1", "container", "(.+)")`;
  return (
    `sum by (namespace, service) (${asService(`rate(container_cpu_usage_seconds_total{container!="", container!="POD"}[${windowS}s])`)})` +
    ` / sum by (namespace, service) (${asService('kube_pod_container_resource_limits{resource="cpu"}')})`
  );
}

/**
 * A verifier that hands each incident to the verifier of its alert name, or to `fallback`: one
 * symptom query per alert, as a verifier has one.
 */
export function recoveryByAlert(byAlert: Readonly<Record<string, Verifier>>, fallback: Verifier): Verifier {
  const all = [fallback, ...Object.values(byAlert)];
  return {
    name: fallback.name,
    stage: "recovery",
    timeoutMs: Math.max(...all.map((verifier) => verifier.timeoutMs ?? 600_000)),
    verify: (options) => (byAlert[options.incident.alertname] ?? fallback).verify(options),
  };
}

/**
 * Start Alertmanager (routing to the webhook at once: `group_wait` 0 s) and Prometheus (1 s
 * scrape and evaluation; HighErrorRate above 5 % and HighCPU above 80 % with `for: 0s`), or the
 * direct scraper.
 */
export async function startLoopObservability(
  settings: LoopObservabilitySettings,
): Promise<LoopObservability> {
  const hold = `${settings.holdS}s`;
  const deadline = `${settings.deadlineS}s`;
  if (settings.kind === "direct") {
    const direct = directMetrics({
      metricsUrl: settings.metricsUrl,
      service: settings.service,
      webhookUrl: settings.webhookUrl,
      windowMs: settings.windowS * 1000,
      holdMs: settings.holdS * 1000,
      deadlineMs: settings.deadlineS * 1000,
    });
    return { enricher: direct.enricher, recovery: direct.verifier, stop: () => direct.stop() };
  }
  const alertmanager = await startAlertmanager({
    webhookUrl: settings.webhookUrl,
    groupWait: "0s",
    groupInterval: "1s",
  });
  try {
    const prometheus = await startPrometheus({
      scrapeTargets: [settings.metricsUrl],
      alertmanagerUrl: alertmanager.url,
      rules: [
        {
          name: "selfheal",
          rules: [
            {
              alert: "HighErrorRate",
              expr: `${errorRatioExpression(settings.service, settings.windowS)} > 0.05`,
              for: "0s",
              labels: { severity: "critical" },
              annotations: {
                summary: "{{ $labels.service }}: {{ $value | humanizePercentage }} of requests fail",
              },
            },
            {
              alert: "HighCPU",
              expr: `${cpuRatioExpression(settings.windowS)} > 0.8`,
              for: "0s",
              labels: { severity: "warning" },
              annotations: {
                summary: "{{ $labels.service }} uses {{ $value | humanizePercentage }} of its CPU limit",
              },
            },
          ],
        },
      ],
    });
    const window = `${settings.windowS}s`;
    return {
      // The sample service degrades without crashing: no restarts to read. The error rate and the
      // CPU usage are read with the default queries.
      enricher: prometheusMetrics({ url: prometheus.url, window, queries: { restart_count: null } }),
      recovery: recoveryByAlert(
        {
          HighCPU: prometheusRecovery({
            url: prometheus.url,
            window,
            query: defaultCpuUsageQuery,
            threshold: 0.8,
            hold,
            deadline,
            interval: "500ms",
          }),
        },
        prometheusRecovery({
          url: prometheus.url,
          window,
          threshold: 0.05,
          hold,
          deadline,
          interval: "500ms",
        }),
      ),
      prometheusUrl: prometheus.url,
      alertmanagerUrl: alertmanager.url,
      async stop() {
        await prometheus.stop();
        await alertmanager.stop();
      },
    };
  } catch (error) {
    await alertmanager.stop();
    throw error;
  }
}
