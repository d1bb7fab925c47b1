import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

interface ServiceTraffic {
  okPerS: number;
  errorPerS: number;
  ok: number;
  errors: number;
  hadErrors: boolean;
  updatedAt: number;
}

/** One container of a pod, as kube-state-metrics and cAdvisor label it. */
export interface PodContainer {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  /** Restarts per second (kube_pod_container_status_restarts_total grows at this rate). */
  readonly restartsPerS: number;
  /** CPU seconds used per second (container_cpu_usage_seconds_total grows at this rate). */
  readonly cpuPerS: number;
  /** kube_pod_container_resource_limits{resource="cpu"}, in cores. */
  readonly cpuLimit: number;
}

/** A running {@link startMetricsTarget}. */
export interface MetricsTarget {
  /** `host:port` to scrape (`/metrics`). */
  readonly address: string;
  /** Set the request rates of `service` (`http_requests_total{service,status}`). */
  setTraffic(service: string, okPerS: number, errorPerS: number): void;
  /** Add or change a container's kube-state-metrics and cAdvisor series. */
  setContainer(container: PodContainer): void;
  /** Stop serving. */
  close(): Promise<void>;
}

interface ContainerCounters {
  spec: PodContainer;
  restarts: number;
  cpuSeconds: number;
  updatedAt: number;
}

/**
 * A scrape target exposing `http_requests_total{service,status}` counters that grow at rates the
 * test sets. The 500 series of a service appears only once it has had errors, as in a real app.
 * Containers set with `setContainer` are exposed with the series and labels kube-state-metrics
 * and cAdvisor give them (`namespace`, `pod`, `container`): no `service` label.
 */
export async function startMetricsTarget(): Promise<MetricsTarget> {
  const services = new Map<string, ServiceTraffic>();
  const containers = new Map<string, ContainerCounters>();
  const advanceContainer = (counters: ContainerCounters) => {
    const now = Date.now();
    const seconds = (now - counters.updatedAt) / 1000;
    counters.restarts += counters.spec.restartsPerS * seconds;
    counters.cpuSeconds += counters.spec.cpuPerS * seconds;
    counters.updatedAt = now;
  };
  const advance = (traffic: ServiceTraffic) => {
    const now = Date.now();
    const seconds = (now - traffic.updatedAt) / 1000;
    traffic.ok += traffic.okPerS * seconds;
    traffic.errors += traffic.errorPerS * seconds;
    traffic.updatedAt = now;
  };
  const server = createServer((request, response) => {
    if (request.url !== "/metrics") {
      response.writeHead(404).end();
      return;
    }
    const lines = ["# TYPE http_requests_total counter"];
    for (const [service, traffic] of services) {
      advance(traffic);
      lines.push(`http_requests_total{service="${service}",status="200"} ${traffic.ok}`);
      if (traffic.hadErrors)
        lines.push(`http_requests_total{service="${service}",status="500"} ${traffic.errors}`);
    }
    // One group per metric family, as the exposition format asks.
    for (const counters of containers.values()) advanceContainer(counters);
    const family = (
      name: string,
      type: string,
      line: (counters: ContainerCounters, labels: string) => string,
    ) => {
      if (containers.size === 0) return;
      lines.push(`# TYPE ${name} ${type}`);
      for (const counters of containers.values()) {
        const { namespace, pod, container } = counters.spec;
        lines.push(line(counters, `namespace="${namespace}",pod="${pod}",container="${container}"`));
      }
    };
    family(
      "kube_pod_container_status_restarts_total",
      "counter",
      (counters, labels) => `kube_pod_container_status_restarts_total{${labels}} ${counters.restarts}`,
    );
    family(
      "container_cpu_usage_seconds_total",
      "counter",
      (counters, labels) => `container_cpu_usage_seconds_total{${labels}} ${counters.cpuSeconds}`,
    );
    family(
      "kube_pod_container_resource_limits",
      "gauge",
      (counters, labels) =>
        `kube_pod_container_resource_limits{${labels},resource="cpu",unit="core"} ${counters.spec.cpuLimit}`,
    );
    response.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(`${lines.join("\n")}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    setTraffic(service, okPerS, errorPerS) {
      const traffic = services.get(service) ?? {
        okPerS,
        errorPerS,
        ok: 0,
        errors: 0,
        hadErrors: false,
        updatedAt: Date.now(),
      };
      advance(traffic);
      traffic.okPerS = okPerS;
      traffic.errorPerS = errorPerS;
      traffic.hadErrors ||= errorPerS > 0;
      services.set(service, traffic);
    },
    setContainer(spec) {
      const key = `${spec.namespace}/${spec.pod}/${spec.container}`;
      const counters = containers.get(key) ?? { spec, restarts: 0, cpuSeconds: 0, updatedAt: Date.now() };
      advanceContainer(counters);
      counters.spec = spec;
      containers.set(key, counters);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
