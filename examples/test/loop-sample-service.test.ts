import { BadInputError } from "@selfheal/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  podMetrics,
  type SampleService,
  type SampleServiceProcess,
  sampleServiceProcess,
  startSampleService,
} from "../src/loop/index.js";

const services: (SampleService | SampleServiceProcess)[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await ("close" in service ? service.close() : service.stop());
});

async function start(settings: Parameters<typeof startSampleService>[0]): Promise<SampleService> {
  const service = await startSampleService(settings);
  services.push(service);
  return service;
}

/** Send `count` requests one after another; the statuses seen. */
async function hit(url: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let index = 0; index < count; index++) {
    const response = await fetch(`${url}/checkout`);
    await response.arrayBuffer();
    statuses.push(response.status);
  }
  return statuses;
}

/** `http_requests_total` samples of a Prometheus text scrape, by their label sets. */
async function scrape(metricsUrl: string): Promise<{ labels: Record<string, string>; value: number }[]> {
  const response = await fetch(metricsUrl);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
  const text = await response.text();
  expect(text).toContain("# TYPE http_requests_total counter");
  return text
    .split("\n")
    .filter((line) => line.startsWith("http_requests_total{"))
    .map((line) => {
      const [, labelText = "", value = "NaN"] = /^http_requests_total\{(.*)\} (\S+)/.exec(line) ?? [];
      const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      return { labels, value: Number(value) };
    });
}

const share = (statuses: number[], status: number) =>
  statuses.filter((seen) => seen === status).length / statuses.length;

describe("startSampleService", () => {
  it("v1.2.0 fails about 30 % of 200 requests with 500, v1.1.0 none", async () => {
    const bad = await start({ version: "v1.2.0" });
    const good = await start({ version: "v1.1.0" });
    const badStatuses = await hit(bad.url, 200);
    const goodStatuses = await hit(good.url, 200);
    expect(share(badStatuses, 500)).toBeGreaterThanOrEqual(0.25);
    expect(share(badStatuses, 500)).toBeLessThanOrEqual(0.35);
    expect(share(badStatuses, 500) + share(badStatuses, 200)).toBe(1);
    expect(share(goodStatuses, 200)).toBe(1);
    expect(bad.errorRate).toBe(0.3);
  });

  it("takes its behaviour from a version table a test can extend, or an explicit rate", async () => {
    const custom = await start({ version: "v2.0.0", versions: { "v2.0.0": { errorRate: 0.5 } } });
    expect(share(await hit(custom.url, 100), 500)).toBeCloseTo(0.5, 1);
    const overridden = await start({ version: "v1.1.0", errorRate: 1 });
    expect(share(await hit(overridden.url, 20), 500)).toBe(1);
    await expect(startSampleService({ version: "v9.9.9" })).rejects.toBeInstanceOf(BadInputError);
    await expect(startSampleService({ version: "v1.1.0", errorRate: 1.5 })).rejects.toThrow(/0\.\.1/);
  });

  it("counts answers in http_requests_total{service,status} on /metrics", async () => {
    const service = await start({ version: "v1.2.0", service: "payments" });
    const statuses = await hit(service.url, 50);
    const samples = await scrape(service.metricsUrl);
    const count = (status: string) =>
      samples.find((sample) => sample.labels.service === "payments" && sample.labels.status === status)
        ?.value;
    expect(count("500")).toBe(statuses.filter((status) => status === 500).length);
    expect(count("200")).toBe(statuses.filter((status) => status === 200).length);
    expect(count("500")).toBeGreaterThan(0);
    expect(samples.every((sample) => sample.labels.version === "v1.2.0")).toBe(true);
    // Scrapes and health checks are not requests of the service.
    const health = await fetch(`${service.url}/healthz`);
    expect(await health.json()).toEqual({ service: "payments", version: "v1.2.0" });
    const again = await scrape(service.metricsUrl);
    expect(again.reduce((sum, sample) => sum + sample.value, 0)).toBe(50);
  });

  it("with selfLoad, produces its error rate without an outside client", async () => {
    const service = await start({ version: "v1.2.0", selfLoad: 100 });
    // Wait until it served some 20 requests to itself (about 0.2 s idle; a loaded machine is slower).
    const served = (found: Awaited<ReturnType<typeof scrape>>) =>
      found.reduce((sum, sample) => sum + sample.value, 0);
    // (Until its first request, the service exports no http_requests_total at all.)
    const deadline = Date.now() + 20_000;
    let samples: Awaited<ReturnType<typeof scrape>> = [];
    while (served(samples) < 20 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const text = await (await fetch(service.metricsUrl)).text();
      if (text.includes("# TYPE http_requests_total counter")) samples = await scrape(service.metricsUrl);
    }
    const total = served(samples);
    const failed = samples.find((sample) => sample.labels.status === "500")?.value ?? 0;
    expect(total).toBeGreaterThanOrEqual(20);
    expect(failed / total).toBeGreaterThan(0.2);
    expect(failed / total).toBeLessThan(0.4);
  });
});

describe("the simulated pods of the sample service", () => {
  it("expose cAdvisor and kube-state-metrics series whose CPU per limit follows demand and replicas", () => {
    let now = 0;
    const pods = podMetrics({
      service: "checkout",
      version: "v1.1.0",
      replicas: 3,
      cpuDemand: 1.2,
      now: () => now,
    });
    const read = () => {
      const text = pods.exposition();
      const values = (name: string) =>
        [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, "gm"))].map((match) => ({
          labels: match[1] ?? "",
          // Rounded: the counters add floating-point products.
          value: Number(Number(match[2]).toFixed(9)),
        }));
      return {
        cpu: values("container_cpu_usage_seconds_total"),
        limits: values("kube_pod_container_resource_limits"),
        replicas: values("kube_deployment_spec_replicas"),
      };
    };
    now = 10_000;
    const first = read();
    expect(first.cpu.map((sample) => sample.value)).toEqual([4, 4, 4]); // 0.4 core each for 10 s
    expect(first.cpu[0]?.labels).toMatch(
      /^namespace="default",pod="checkout-[0-9a-f]{10}-[0-9a-f]{5}",container="checkout"$/,
    );
    expect(first.limits.map((sample) => sample.labels)).toEqual(
      first.cpu.map((sample) => `${sample.labels},resource="cpu",unit="core"`),
    );
    expect(first.replicas).toEqual([{ labels: 'namespace="default",deployment="checkout"', value: 3 }]);
    // A surge to 2.85 cores: 0.95 of each 1-core limit; a fourth pod brings it to 0.7125.
    pods.setCpuDemand(2.85);
    now = 20_000;
    expect(read().cpu.map((sample) => sample.value)).toEqual([13.5, 13.5, 13.5]);
    pods.scale(4);
    now = 30_000;
    const scaled = read();
    expect(scaled.cpu.map((sample) => sample.value)).toEqual([20.625, 20.625, 20.625, 7.125]);
    expect(scaled.cpu.slice(0, 3).map((sample) => sample.labels)).toEqual(
      first.cpu.map((sample) => sample.labels),
    );
    expect(scaled.replicas[0]?.value).toBe(4);
    // Throttled at the limit: demand beyond it is not used.
    pods.setCpuDemand(10);
    now = 40_000;
    expect(read().cpu[3]?.value).toBe(17.125);
    expect(() => pods.scale(-1)).toThrow(BadInputError);
  });
});

describe("sampleServiceProcess", () => {
  it("runs in a child process and restarts at another version on the same port", async () => {
    const service = await sampleServiceProcess({ version: "v1.2.0" });
    services.push(service);
    const firstPid = service.pid;
    expect(firstPid).not.toBe(process.pid);
    expect(await (await fetch(`${service.url}/healthz`)).json()).toEqual({
      service: "checkout",
      version: "v1.2.0",
    });
    expect(share(await hit(service.url, 50), 500)).toBeCloseTo(0.3, 1);

    await service.restart("v1.1.0");
    expect(service.pid).not.toBe(firstPid);
    expect(service.version).toBe("v1.1.0");
    expect(service.starts).toBe(2);
    expect(await (await fetch(`${service.url}/healthz`)).json()).toEqual({
      service: "checkout",
      version: "v1.1.0",
    });
    expect(share(await hit(service.url, 50), 200)).toBe(1);
    // A new process: its counters start again, under the same scrape target.
    const samples = await scrape(service.metricsUrl);
    expect(samples.map((sample) => [sample.labels.version, sample.labels.status, sample.value])).toEqual([
      ["v1.1.0", "200", 50],
    ]);

    await expect(service.restart("v9.9.9")).rejects.toBeInstanceOf(BadInputError);
    expect(service.version).toBe("v1.1.0");
    // Scaling is no restart: the same process runs one pod more, and keeps the count on restarts.
    const pid = service.pid;
    await service.scale(2);
    await service.setCpuDemand(1.5);
    expect([service.pid, service.replicas, service.cpuDemand]).toEqual([pid, 2, 1.5]);
    const pods = (await (await fetch(service.metricsUrl)).text()).match(
      /^container_cpu_usage_seconds_total\{/gm,
    );
    expect(pods).toHaveLength(2);
    await expect(service.scale(-1)).rejects.toBeInstanceOf(BadInputError);
    expect(service.replicas).toBe(2);
    await service.stop();
    await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
    // Two Node.js starts in child processes: seconds each on a loaded machine.
  }, 90_000);
});
