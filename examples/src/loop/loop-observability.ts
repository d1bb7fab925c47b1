import { prometheusMetrics, prometheusRecovery } from "@selfheal/adapter-prometheus";
import { startAlertmanager, startPrometheus } from "@selfheal/adapter-prometheus/testing";
import type { Enricher, Verifier } from "@selfheal/core";
import { directErrorRate } from "./direct-error-rate.js";

/** What watches the service for the loop: who alerts, the metrics enricher, the recovery verifier. */
export interface LoopObservability {
  /** Adds `metrics.error_rate` (over the window). */
  readonly enricher: Enricher;
  /** Passes once the error rate stays below 5 % for the hold. */
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
  /** `prometheus`: the real servers; `direct`: `directErrorRate`. */
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
 * Start Alertmanager (routing to the webhook at once: `group_wait` 0 s) and Prometheus (1 s
 * scrape and evaluation, HighErrorRate above 5 % with `for: 0s`), or the direct scraper.
 */
export async function startLoopObservability(
  settings: LoopObservabilitySettings,
): Promise<LoopObservability> {
  const hold = `${settings.holdS}s`;
  const deadline = `${settings.deadlineS}s`;
  if (settings.kind === "direct") {
    const direct = directErrorRate({
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
          ],
        },
      ],
    });
    const window = `${settings.windowS}s`;
    return {
      // The sample service has no restarts or CPU limits to read: only the error rate is asked.
      enricher: prometheusMetrics({
        url: prometheus.url,
        window,
        queries: { restart_count: null, cpu_usage: null },
      }),
      recovery: prometheusRecovery({
        url: prometheus.url,
        window,
        threshold: 0.05,
        hold,
        deadline,
        interval: "500ms",
      }),
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
