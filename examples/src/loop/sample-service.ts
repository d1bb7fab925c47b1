import { Agent, createServer, get, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import { BadInputError } from "@selfheal/core";
import { type PodMetrics, podMetrics } from "./pod-metrics.js";

/** How one version of the sample service behaves. */
export interface VersionBehaviour {
  /** Share of requests answered with 500, 0..1. */
  readonly errorRate: number;
}

/**
 * The versions the sample service knows: v1.2.0 is the bad release (30 % of requests fail),
 * v1.1.0 the healthy one before it. Pass your own table to add versions.
 */
export const sampleVersions: Readonly<Record<string, VersionBehaviour>> = {
  "v1.1.0": { errorRate: 0 },
  "v1.2.0": { errorRate: 0.3 },
};

/** Settings of {@link startSampleService}. */
export interface SampleServiceSettings {
  /** The version to run (`v1.2.0`); its behaviour comes from `versions` unless `errorRate` is set. */
  readonly version: string;
  /**
   * The `service` label of the metrics.
   * @default "checkout"
   */
  readonly service?: string;
  /**
   * Port of the service and of its `/metrics`; 0 picks a free one.
   * @default 0
   */
  readonly port?: number;
  /**
   * Address to listen on.
   * @default "127.0.0.1"
   */
  readonly host?: string;
  /**
   * Share of requests answered with 500, overriding the version table.
   * @default the version's `errorRate` in `versions`
   */
  readonly errorRate?: number;
  /**
   * Behaviour by version.
   * @default sampleVersions
   */
  readonly versions?: Readonly<Record<string, VersionBehaviour>>;
  /**
   * Requests per second the service sends itself, so an error rate exists without an outside
   * client. 0 sends none.
   * @default 0
   */
  readonly selfLoad?: number;
  /**
   * Replicas the service runs as (simulated pods: see `podMetrics`).
   * @default 1
   */
  readonly replicas?: number;
  /**
   * CPU its work needs, in cores, spread over the replicas.
   * @default 0.4 per replica
   */
  readonly cpuDemand?: number;
  /**
   * CPU limit of each replica's container, in cores.
   * @default 1
   */
  readonly cpuLimit?: number;
  /**
   * The `namespace` label of the pod series.
   * @default "default"
   */
  readonly namespace?: string;
}

/** A running sample service. */
export interface SampleService {
  /** Base URL, `http://127.0.0.1:PORT`; every path but `/metrics` and `/healthz` is served. */
  readonly url: string;
  /** Where Prometheus scrapes: `${url}/metrics`. */
  readonly metricsUrl: string;
  readonly port: number;
  readonly version: string;
  /** The share of requests this instance fails. */
  readonly errorRate: number;
  /** Its simulated pods: `scale(replicas)`, `setCpuDemand(cores)`. */
  readonly pods: PodMetrics;
  /** Stop the load, the server and the meter provider. */
  close(): Promise<void>;
}

/** The error rate of `version`: the override, else the table's; unknown versions are refused. */
export function errorRateOf(
  version: string,
  versions: Readonly<Record<string, VersionBehaviour>> = sampleVersions,
  override?: number,
): number {
  const rate = override ?? versions[version]?.errorRate;
  if (rate === undefined) {
    throw new BadInputError(
      `sample service: unknown version ${JSON.stringify(version)} (known: ${Object.keys(versions).join(", ")})`,
      { adapter: "sample-service" },
    );
  }
  if (!(Number.isFinite(rate) && rate >= 0 && rate <= 1)) {
    throw new BadInputError(`sample service: errorRate must be within 0..1, got ${rate}`, {
      adapter: "sample-service",
    });
  }
  return rate;
}

/**
 * Start the sample service in this process: a `node:http` server that fails the version's share
 * of requests with 500 and counts every answer in `http_requests_total{service,version,status}`
 * (OpenTelemetry, exported for Prometheus on `/metrics` of the same port). The same `/metrics`
 * carries the cAdvisor and kube-state-metrics series of its simulated pods (`podMetrics`), as a
 * cluster's scrape would show them beside the application's own.
 */
export async function startSampleService(settings: SampleServiceSettings): Promise<SampleService> {
  const errorRate = errorRateOf(settings.version, settings.versions, settings.errorRate);
  const service = settings.service ?? "checkout";
  const selfLoad = settings.selfLoad ?? 0;
  if (!(Number.isFinite(selfLoad) && selfLoad >= 0)) {
    throw new BadInputError("sample service: selfLoad must be a number ≥ 0", { adapter: "sample-service" });
  }
  // The exporter serves through our server rather than its own, so one port is both the service
  // and the scrape target, and it stays the same across restarts.
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const serializer = new PrometheusSerializer();
  const replicas = settings.replicas ?? 1;
  const pods = podMetrics({
    service,
    version: settings.version,
    replicas,
    cpuDemand: settings.cpuDemand ?? 0.4 * replicas,
    ...(settings.cpuLimit === undefined ? {} : { cpuLimit: settings.cpuLimit }),
    ...(settings.namespace === undefined ? {} : { namespace: settings.namespace }),
  });
  const provider = new MeterProvider({ readers: [exporter] });
  const requests = provider
    .getMeter("selfheal-sample-service")
    .createCounter("http_requests_total", { description: "HTTP requests answered, by status." });

  // Failures are spread evenly rather than drawn at random: any window of n requests holds
  // round(n × rate) failures, so tests and the demo see the rate at once, without noise.
  let failureDebt = 0;
  const answer = (response: ServerResponse) => {
    failureDebt += errorRate;
    const fail = failureDebt >= 1 - 1e-9;
    if (fail) failureDebt -= 1;
    const status = fail ? 500 : 200;
    requests.add(1, { service, version: settings.version, status: String(status) });
    const body = JSON.stringify(
      fail ? { error: "simulated failure" } : { service, version: settings.version },
    );
    response.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    });
    response.end(body);
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? "/", "http://sample").pathname;
    if (path === "/metrics") {
      exporter.collect().then(
        ({ resourceMetrics }) => {
          const body = `${serializer.serialize(resourceMetrics)}\n${pods.exposition()}`;
          response.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(body);
        },
        (error: unknown) => response.writeHead(500).end(`# failed to collect metrics: ${String(error)}\n`),
      );
    } else if (path === "/healthz") {
      const body = JSON.stringify({ service, version: settings.version });
      response.writeHead(200, { "content-type": "application/json" }).end(body);
    } else {
      // Drain the body first so keep-alive connections stay usable.
      request.resume();
      request.on("end", () => answer(response));
    }
  });
  const host = settings.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}`;

  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const load =
    selfLoad === 0
      ? undefined
      : setInterval(() => {
          // A failed self-request (server closing) is no news: the next tick tries again.
          get(`${url}/checkout`, { agent }, (response) => response.resume()).on("error", () => {});
        }, 1000 / selfLoad);

  let closed: Promise<void> | undefined;
  return {
    url,
    metricsUrl: `${url}/metrics`,
    port,
    version: settings.version,
    errorRate,
    pods,
    close() {
      closed ??= (async () => {
        if (load !== undefined) clearInterval(load);
        agent.destroy();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
        await provider.shutdown();
      })();
      return closed;
    },
  };
}
