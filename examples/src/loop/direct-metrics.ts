// Stands in for Prometheus and Alertmanager when they are not installed (the demo on a machine
// with only Node.js and git): it scrapes the sample service's /metrics itself, computes the 5xx
// ratio and the CPU used per CPU limit over a sliding window like `rate()` would, posts the
// Alertmanager webhook when one crosses its threshold (HighErrorRate, HighCPU), and offers the
// same numbers as an enricher and a verifier.
import { firingPayload } from "@selfheal/adapter-prometheus";
import type { Enricher, Verifier } from "@selfheal/core";
import { sleep } from "@selfheal/core/internal";

/** Settings of {@link directMetrics}. */
export interface DirectMetricsSettings {
  /** The service's `/metrics` URL. */
  readonly metricsUrl: string;
  /** The `service` label to read and to alert on (and the `container` of its pods). */
  readonly service: string;
  /** The controller's Alertmanager webhook URL. */
  readonly webhookUrl: string;
  /**
   * Sliding window of the ratios, in milliseconds (what `[5s]` is to `rate()`).
   * @default 5000
   */
  readonly windowMs?: number;
  /**
   * Time between scrapes, in milliseconds.
   * @default 500
   */
  readonly intervalMs?: number;
  /**
   * HighErrorRate above this 5xx ratio; recovered strictly below it.
   * @default 0.05
   */
  readonly threshold?: number;
  /**
   * HighCPU above this share of the CPU limits; recovered strictly below it.
   * @default 0.8
   */
  readonly cpuThreshold?: number;
  /**
   * How long the verifier wants the ratio below the threshold, in milliseconds.
   * @default 2000
   */
  readonly holdMs?: number;
  /**
   * The verifier's deadline, in milliseconds.
   * @default 60000
   */
  readonly deadlineMs?: number;
}

/** A running scraper with its enricher and verifier. */
export interface DirectMetrics {
  /** `metrics.error_rate` and `metrics.cpu_usage` from the window (each absent until known). */
  readonly enricher: Enricher;
  /** Recovered once the incident's ratio (by its alert name) stays below its threshold for the hold. */
  readonly verifier: Verifier;
  /** Stop scraping. */
  stop(): Promise<void>;
}

/** One scrape, with counters carried over process restarts. */
interface Sample {
  readonly at: number;
  readonly total: number;
  readonly errors: number;
  /** CPU seconds by pod, and the sum of the pods' CPU limits. */
  readonly cpu: ReadonlyMap<string, number>;
  readonly cpuLimit: number;
}

/** The label set and value of one line of Prometheus's text format, or undefined. */
function parseLine(line: string, name: string): { labels: string; value: number } | undefined {
  if (!line.startsWith(`${name}{`)) return undefined;
  const value = Number(
    line
      .slice(line.lastIndexOf("}") + 1)
      .trim()
      .split(" ")[0],
  );
  if (!Number.isFinite(value)) return undefined;
  return { labels: line.slice(line.indexOf("{") + 1, line.lastIndexOf("}")), value };
}

const labelOf = (labels: string, name: string) => new RegExp(`(?:^|,)${name}="([^"]*)"`).exec(labels)?.[1];

/** Sum `http_requests_total` of the service (all and 5xx) from Prometheus's text format. */
export function readRequestCounters(text: string, service: string): { total: number; errors: number } {
  let total = 0;
  let errors = 0;
  for (const line of text.split("\n")) {
    const found = parseLine(line, "http_requests_total");
    if (found === undefined || labelOf(found.labels, "service") !== service) continue;
    total += found.value;
    if (/^5\d\d$/.test(labelOf(found.labels, "status") ?? "")) errors += found.value;
  }
  return { total, errors };
}

/**
 * CPU seconds by pod (`container_cpu_usage_seconds_total`) and the sum of the CPU limits
 * (`kube_pod_container_resource_limits{resource="cpu"}`) of the containers named `container`,
 * with the namespace they run in.
 */
export function readCpuCounters(
  text: string,
  container: string,
): { cpu: Map<string, number>; cpuLimit: number; namespace?: string } {
  const cpu = new Map<string, number>();
  let cpuLimit = 0;
  let namespace: string | undefined;
  for (const line of text.split("\n")) {
    const used = parseLine(line, "container_cpu_usage_seconds_total");
    if (used !== undefined && labelOf(used.labels, "container") === container) {
      namespace ??= labelOf(used.labels, "namespace");
      cpu.set(labelOf(used.labels, "pod") ?? "", used.value);
    }
    const limit = parseLine(line, "kube_pod_container_resource_limits");
    if (
      limit !== undefined &&
      labelOf(limit.labels, "container") === container &&
      labelOf(limit.labels, "resource") === "cpu"
    ) {
      cpuLimit += limit.value;
    }
  }
  return { cpu, cpuLimit, ...(namespace === undefined ? {} : { namespace }) };
}

/** Start scraping `metricsUrl` every `intervalMs`; see the module comment. */
export function directMetrics(settings: DirectMetricsSettings): DirectMetrics {
  const windowMs = settings.windowMs ?? 5000;
  const intervalMs = settings.intervalMs ?? 500;
  const thresholds = { HighErrorRate: settings.threshold ?? 0.05, HighCPU: settings.cpuThreshold ?? 0.8 };
  const samples: Sample[] = [];
  // Request counters restart at 0 with the process (a deploy): carry the old totals like rate()
  // does. A restart also starts new pods, whose CPU series are new ones.
  let offset = { total: 0, errors: 0 };
  let last = { total: 0, errors: 0 };
  let namespace: string | undefined;
  const firing = { HighErrorRate: false, HighCPU: false };
  const stopping = new AbortController();

  const inWindow = () => {
    const newest = samples.at(-1);
    return newest === undefined ? [] : samples.filter((sample) => sample.at >= newest.at - windowMs);
  };
  const errorRatio = (): number | undefined => {
    const window = inWindow();
    const [oldest, newest] = [window[0], window.at(-1)];
    if (newest === undefined || oldest === undefined || newest.total - oldest.total <= 0) return undefined;
    return (newest.errors - oldest.errors) / (newest.total - oldest.total);
  };
  // Per pod, the rate between its first and last sample in the window; summed, then divided by
  // the limits the newest scrape shows: sum(rate(cpu)) / sum(limits).
  const cpuRatio = (): number | undefined => {
    const window = inWindow();
    const newest = window.at(-1);
    if (newest === undefined || newest.cpuLimit <= 0) return undefined;
    let rate = 0;
    let rated = 0;
    for (const [pod, seconds] of newest.cpu) {
      const first = window.find((sample) => sample.cpu.has(pod));
      if (first === undefined || first === newest) continue;
      rate += (seconds - (first.cpu.get(pod) ?? 0)) / ((newest.at - first.at) / 1000);
      rated++;
    }
    return rated === 0 ? undefined : rate / newest.cpuLimit;
  };
  const ratios = { HighErrorRate: errorRatio, HighCPU: cpuRatio };

  const scrape = async () => {
    // Stamped when the scrape starts, as Prometheus stamps its samples.
    const at = Date.now();
    const response = await fetch(settings.metricsUrl, { signal: AbortSignal.timeout(1000) });
    const text = await response.text();
    const raw = readRequestCounters(text, settings.service);
    if (raw.total < last.total)
      offset = { total: offset.total + last.total, errors: offset.errors + last.errors };
    last = raw;
    const pods = readCpuCounters(text, settings.service);
    namespace ??= pods.namespace;
    samples.push({
      at,
      total: raw.total + offset.total,
      errors: raw.errors + offset.errors,
      cpu: pods.cpu,
      cpuLimit: pods.cpuLimit,
    });
    while ((samples[0]?.at ?? at) < at - windowMs - intervalMs) samples.shift();
  };

  const alert = async (alertname: keyof typeof thresholds, value: number) => {
    const labels: Record<string, string> =
      alertname === "HighCPU"
        ? {
            alertname,
            service: settings.service,
            severity: "warning",
            ...(namespace === undefined ? {} : { namespace }),
          }
        : { alertname, service: settings.service, severity: "critical" };
    const summary =
      alertname === "HighCPU"
        ? `${settings.service} uses ${(value * 100).toFixed(1)}% of its CPU limit`
        : `${settings.service}: ${(value * 100).toFixed(1)}% of requests fail`;
    const payload = firingPayload({
      groupLabels: { alertname, service: settings.service },
      alerts: [{ labels, annotations: { summary }, fingerprint: `direct-${settings.service}-${alertname}` }],
    });
    await fetch(settings.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(5000),
    });
  };

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      // A scrape during a restart fails: the window simply has a gap, as in Prometheus.
      await scrape().catch(() => undefined);
      for (const alertname of ["HighErrorRate", "HighCPU"] as const) {
        const value = ratios[alertname]();
        if (value !== undefined && value > thresholds[alertname] && !firing[alertname]) {
          firing[alertname] = true;
          await alert(alertname, value).catch(() => {
            firing[alertname] = false;
          });
        } else if (value !== undefined && value < thresholds[alertname]) firing[alertname] = false;
      }
      await sleep(intervalMs, stopping.signal).catch(() => undefined);
    }
  })();

  const verifier: Verifier = {
    name: "direct-recovery",
    stage: "recovery",
    timeoutMs: (settings.deadlineMs ?? 60_000) + 5000,
    async verify({ incident, signal }) {
      const alertname = incident.alertname === "HighCPU" ? "HighCPU" : "HighErrorRate";
      const what = alertname === "HighCPU" ? "cpu usage" : "error rate";
      const ratio = ratios[alertname];
      const threshold = thresholds[alertname];
      const holdMs = settings.holdMs ?? 2000;
      const until = Date.now() + (settings.deadlineMs ?? 60_000);
      const polls: { at: string; value: number | null }[] = [];
      let belowSince: number | undefined;
      while (Date.now() < until) {
        const value = ratio();
        polls.push({ at: new Date().toISOString(), value: value ?? null });
        if (value !== undefined && value < threshold) belowSince ??= Date.now();
        else belowSince = undefined;
        if (belowSince !== undefined && Date.now() - belowSince >= holdMs) {
          return {
            verifier: "direct-recovery",
            outcome: "passed",
            reason: `${what} ${value?.toFixed(3)} below ${threshold} for ${holdMs} ms`,
            observedAt: new Date().toISOString(),
            evidence: { threshold, holdMs, polls: polls.slice(-60) },
          };
        }
        await sleep(intervalMs, signal);
      }
      return {
        verifier: "direct-recovery",
        outcome: "failed",
        reason: `${what} ${ratio()?.toFixed(3) ?? "unknown"} did not stay below ${threshold} for ${holdMs} ms by the deadline`,
        observedAt: new Date().toISOString(),
        evidence: { threshold, holdMs, polls: polls.slice(-60) },
      };
    },
  };

  return {
    enricher: {
      name: "direct-metrics",
      async enrich() {
        const errorRate = errorRatio();
        const cpuUsage = cpuRatio();
        return {
          metrics: {
            ...(errorRate === undefined ? {} : { error_rate: errorRate }),
            ...(cpuUsage === undefined ? {} : { cpu_usage: cpuUsage }),
          },
        };
      },
    },
    verifier,
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}
