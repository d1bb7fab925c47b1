import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sleep } from "@selfheal/core/internal";
import { prometheusBinary, type RunningServer, startServerProcess } from "./server-process.js";

/** One alerting or recording rule, as in a Prometheus rule file. */
export interface PrometheusRule {
  /** Name of an alerting rule (set this or `record`). */
  readonly alert?: string;
  /** Name of a recording rule. */
  readonly record?: string;
  readonly expr: string;
  /** How long the condition must hold before the alert fires (`"0s"`, `"2s"`). */
  readonly for?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A rule group, as in a Prometheus rule file. */
export interface PrometheusRuleGroup {
  readonly name: string;
  /** Evaluation interval of this group (`"1s"`); the global one when absent. */
  readonly interval?: string;
  readonly rules: readonly PrometheusRule[];
}

/** Options of `startPrometheus`. */
export interface StartPrometheusOptions {
  /**
   * Rule groups, written to a rule file.
   * @default []
   */
  readonly rules?: readonly PrometheusRuleGroup[];
  /**
   * What to scrape: `host:port` (path `/metrics`) or a full URL (`http://127.0.0.1:8080/metrics`).
   * Each becomes its own job (`target-0`, ...) with `honor_labels`, so the target's labels stay.
   * @default []
   */
  readonly scrapeTargets?: readonly string[];
  /**
   * Scrape interval (and timeout), in seconds.
   * @default 1
   */
  readonly scrapeIntervalS?: number;
  /**
   * Rule evaluation interval, in seconds.
   * @default 1
   */
  readonly evaluationIntervalS?: number;
  /**
   * Alertmanager to send alerts to (`http://127.0.0.1:9093`); none when absent.
   * @default undefined
   */
  readonly alertmanagerUrl?: string;
  /**
   * How soon a firing alert is sent to Alertmanager again (`--rules.alert.resend-delay`).
   * @default "1s"
   */
  readonly alertResendDelay?: string;
  /**
   * The Prometheus binary.
   * @default `SELFHEAL_PROMETHEUS_BINARY`, else "/usr/bin/prometheus"
   */
  readonly binary?: string;
  /**
   * Serve everything under this path (`--web.route-prefix`), as behind a reverse proxy at
   * `/prefix`; the returned `url` includes it. Starts with `/`, no trailing slash.
   * @default undefined
   */
  readonly routePrefix?: string;
  /**
   * More command-line flags (`--web.enable-lifecycle`), after the generated ones.
   * @default []
   */
  readonly extraArgs?: readonly string[];
  /**
   * How long to wait until `/-/ready` answers, in milliseconds.
   * @default 30000
   */
  readonly readyTimeoutMs?: number;
}

/**
 * Start a real Prometheus (Debian's `/usr/bin/prometheus`) on a free port, with a temporary data
 * folder and generated config. Resolves once `/-/ready` answers (and, with `alertmanagerUrl`,
 * once Prometheus has discovered that Alertmanager: about 5 s); `stop()` kills it and removes the
 * folder. Throws `BinaryMissingError` when the binary is not installed, and an error with the end
 * of its log when it does not start.
 */
export async function startPrometheus(options: StartPrometheusOptions = {}): Promise<RunningServer> {
  const scrapeS = options.scrapeIntervalS ?? 1;
  const evaluationS = options.evaluationIntervalS ?? 1;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const server = await startServerProcess({
    label: "prometheus",
    binary: options.binary ?? prometheusBinary(),
    debianPackage: "prometheus",
    readyTimeoutMs,
    ...(options.routePrefix === undefined ? {} : { basePath: options.routePrefix }),
    async prepare(directory) {
      const rulesFile = join(directory, "rules.yml");
      const configFile = join(directory, "prometheus.yml");
      // YAML is a superset of JSON: JSON.stringify writes valid config without a YAML library.
      await writeFile(rulesFile, JSON.stringify({ groups: options.rules ?? [] }, null, 2));
      const config: Record<string, unknown> = {
        global: {
          scrape_interval: `${scrapeS}s`,
          scrape_timeout: `${scrapeS}s`,
          evaluation_interval: `${evaluationS}s`,
        },
        rule_files: [rulesFile],
        scrape_configs: (options.scrapeTargets ?? []).map((target, index) => scrapeConfig(target, index)),
      };
      if (options.alertmanagerUrl !== undefined) {
        const url = new URL(options.alertmanagerUrl);
        config.alerting = {
          alertmanagers: [
            {
              scheme: url.protocol.replace(":", ""),
              path_prefix: url.pathname,
              static_configs: [{ targets: [url.host] }],
            },
          ],
        };
      }
      await writeFile(configFile, JSON.stringify(config, null, 2));
      const dataDirectory = join(directory, "data");
      return (port) => [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${dataDirectory}`,
        `--web.listen-address=127.0.0.1:${port}`,
        // The first alerts may go out before Alertmanager is discovered and be dropped; the
        // default resend delay (1m) would then hold them back for a minute.
        `--rules.alert.resend-delay=${options.alertResendDelay ?? "1s"}`,
        "--log.level=warn",
        ...(options.routePrefix === undefined ? [] : [`--web.route-prefix=${options.routePrefix}`]),
        ...(options.extraArgs ?? []),
      ];
    },
  });
  if (options.alertmanagerUrl !== undefined) {
    try {
      await untilAlertmanagerActive(server.url, readyTimeoutMs);
    } catch (error) {
      await server.stop();
      throw error;
    }
  }
  return server;
}

/**
 * Prometheus learns its Alertmanagers through service discovery, which passes updates on at
 * most every 5 s; alerts sent before that are dropped. Wait until it knows one, so a test's
 * first alert is delivered.
 */
async function untilAlertmanagerActive(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const response = await fetch(`${url}/api/v1/alertmanagers`, { signal: AbortSignal.timeout(1000) });
      const body = (await response.json()) as { data?: { activeAlertmanagers?: unknown[] } };
      if ((body.data?.activeAlertmanagers?.length ?? 0) > 0) return;
    } catch {
      // Not answering yet: try again.
    }
    await sleep(200);
  }
  throw new Error(`prometheus at ${url} did not discover its Alertmanager within ${timeoutMs} ms`);
}

function scrapeConfig(target: string, index: number): Record<string, unknown> {
  const url = new URL(target.includes("://") ? target : `http://${target}/metrics`);
  return {
    job_name: `target-${index}`,
    honor_labels: true,
    scheme: url.protocol.replace(":", ""),
    metrics_path: url.pathname,
    static_configs: [{ targets: [url.host] }],
  };
}
