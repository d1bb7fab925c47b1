// Stands in for Prometheus and Alertmanager when they are not installed (the demo on a machine
// with only Node.js and git): it scrapes the sample service's /metrics itself, computes the
// 5xx ratio over a sliding window like `rate()` would, posts the Alertmanager webhook when the
// ratio crosses the threshold, and offers the same numbers as an enricher and a verifier.
import { firingPayload } from "@selfheal/adapter-prometheus";
import { type Enricher, sleep, type Verifier } from "@selfheal/core";

/** Settings of {@link directErrorRate}. */
export interface DirectErrorRateSettings {
  /** The service's `/metrics` URL. */
  readonly metricsUrl: string;
  /** The `service` label to read and to alert on. */
  readonly service: string;
  /** The controller's Alertmanager webhook URL. */
  readonly webhookUrl: string;
  /**
   * Sliding window of the ratio, in milliseconds (what `[5s]` is to `rate()`).
   * @default 5000
   */
  readonly windowMs?: number;
  /**
   * Time between scrapes, in milliseconds.
   * @default 500
   */
  readonly intervalMs?: number;
  /**
   * Alert above this ratio; recovered strictly below it.
   * @default 0.05
   */
  readonly threshold?: number;
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
export interface DirectErrorRate {
  /** `metrics.error_rate` from the window (absent until two scrapes saw traffic). */
  readonly enricher: Enricher;
  /** Recovered once the ratio stays below the threshold for the hold. */
  readonly verifier: Verifier;
  /** Stop scraping. */
  stop(): Promise<void>;
}

interface Sample {
  readonly at: number;
  readonly total: number;
  readonly errors: number;
}

/** Sum `http_requests_total` of the service (all and 5xx) from Prometheus's text format. */
export function readRequestCounters(text: string, service: string): { total: number; errors: number } {
  let total = 0;
  let errors = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("http_requests_total{")) continue;
    const labels = line.slice(line.indexOf("{") + 1, line.lastIndexOf("}"));
    if (!labels.includes(`service="${service}"`)) continue;
    const value = Number(
      line
        .slice(line.lastIndexOf("}") + 1)
        .trim()
        .split(" ")[0],
    );
    if (!Number.isFinite(value)) continue;
    total += value;
    if (/status="5\d\d"/.test(labels)) errors += value;
  }
  return { total, errors };
}

/** Start scraping `metricsUrl` every `intervalMs`; see the module comment. */
export function directErrorRate(settings: DirectErrorRateSettings): DirectErrorRate {
  const windowMs = settings.windowMs ?? 5000;
  const intervalMs = settings.intervalMs ?? 500;
  const threshold = settings.threshold ?? 0.05;
  const samples: Sample[] = [];
  // Counters restart at 0 with the process (a deploy): carry the old totals like rate() does.
  let offset = { total: 0, errors: 0 };
  let last = { total: 0, errors: 0 };
  let firing = false;
  const stopping = new AbortController();

  const ratio = (): number | undefined => {
    const newest = samples.at(-1);
    const oldest = samples.find((sample) => newest !== undefined && sample.at >= newest.at - windowMs);
    if (newest === undefined || oldest === undefined || newest.total - oldest.total <= 0) return undefined;
    return (newest.errors - oldest.errors) / (newest.total - oldest.total);
  };

  const scrape = async () => {
    const response = await fetch(settings.metricsUrl, { signal: AbortSignal.timeout(1000) });
    const raw = readRequestCounters(await response.text(), settings.service);
    if (raw.total < last.total)
      offset = { total: offset.total + last.total, errors: offset.errors + last.errors };
    last = raw;
    const at = Date.now();
    samples.push({ at, total: raw.total + offset.total, errors: raw.errors + offset.errors });
    while ((samples[0]?.at ?? at) < at - windowMs - intervalMs) samples.shift();
  };

  const alert = async (value: number) => {
    const payload = firingPayload({
      groupLabels: { alertname: "HighErrorRate", service: settings.service },
      alerts: [
        {
          labels: { alertname: "HighErrorRate", service: settings.service, severity: "critical" },
          annotations: { summary: `${settings.service}: ${(value * 100).toFixed(1)}% of requests fail` },
          fingerprint: `direct-${settings.service}`,
        },
      ],
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
      const value = ratio();
      if (value !== undefined && value > threshold && !firing) {
        firing = true;
        await alert(value).catch(() => {
          firing = false;
        });
      } else if (value !== undefined && value < threshold) firing = false;
      await sleep(intervalMs, stopping.signal).catch(() => undefined);
    }
  })();

  const verifier: Verifier = {
    name: "direct-recovery",
    stage: "recovery",
    timeoutMs: (settings.deadlineMs ?? 60_000) + 5000,
    async verify({ signal }) {
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
            reason: `error rate ${value?.toFixed(3)} below ${threshold} for ${holdMs} ms`,
            observedAt: new Date().toISOString(),
            evidence: { threshold, holdMs, polls: polls.slice(-60) },
          };
        }
        await sleep(intervalMs, signal);
      }
      return {
        verifier: "direct-recovery",
        outcome: "failed",
        reason: `error rate ${ratio()?.toFixed(3) ?? "unknown"} did not stay below ${threshold} for ${holdMs} ms by the deadline`,
        observedAt: new Date().toISOString(),
        evidence: { threshold, holdMs, polls: polls.slice(-60) },
      };
    },
  };

  return {
    enricher: {
      name: "direct-metrics",
      async enrich() {
        const value = ratio();
        return value === undefined ? {} : { metrics: { error_rate: value } };
      },
    },
    verifier,
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}
