// What a cluster would say about the sample service's pods: one pod per replica, each with the
// series and labels cAdvisor (`container_cpu_usage_seconds_total`) and kube-state-metrics
// (`kube_pod_container_resource_limits`, `kube_deployment_spec_replicas`) give them. The
// service is one process; its replicas are simulated: a CPU demand in cores is spread evenly over
// them, each throttled at its limit, so adding a replica lowers the usage per limit as it would.
import { createHash } from "node:crypto";
import { BadInputError } from "@selfheal/core";

/** Settings of {@link podMetrics}. */
export interface PodMetricsSettings {
  /** The Deployment and container name (`container` label). */
  readonly service: string;
  /** The version running; pods of another version have other names, as after a rollout. */
  readonly version: string;
  /**
   * The `namespace` label.
   * @default "default"
   */
  readonly namespace?: string;
  /**
   * Replicas (pods) running.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * CPU the service's work needs, in cores, over all its pods.
   * @default 0
   */
  readonly cpuDemand?: number;
  /**
   * CPU limit of each pod's container, in cores.
   * @default 1
   */
  readonly cpuLimit?: number;
  /** Clock in milliseconds, for tests. @default Date.now */
  readonly now?: () => number;
}

/** The simulated pods of one running version. */
export interface PodMetrics {
  readonly replicas: number;
  readonly cpuDemand: number;
  /** Pod names, oldest first. */
  readonly pods: readonly string[];
  /** Scale to `replicas` pods: the first ones keep their counters, new ones start at 0. */
  scale(replicas: number): void;
  /** Change the CPU demand, in cores. */
  setCpuDemand(cores: number): void;
  /** The series in Prometheus's text format, one group per metric family. */
  exposition(): string;
}

interface Pod {
  readonly name: string;
  cpuSeconds: number;
}

function check(value: number, name: string, whole: boolean): number {
  const ok = Number.isFinite(value) && value >= 0 && (!whole || Number.isInteger(value));
  if (!ok) {
    throw new BadInputError(
      `sample service: ${name} must be a ${whole ? "whole " : ""}number ≥ 0, got ${value}`,
      {
        adapter: "sample-service",
      },
    );
  }
  return value;
}

/** Start counting the CPU of `replicas` pods; counters grow with time, read at each scrape. */
export function podMetrics(settings: PodMetricsSettings): PodMetrics {
  const now = settings.now ?? Date.now;
  const namespace = settings.namespace ?? "default";
  const limit = check(settings.cpuLimit ?? 1, "cpuLimit", false);
  let demand = check(settings.cpuDemand ?? 0, "cpuDemand", false);
  // Like a ReplicaSet's pod-template hash: the same for every pod of one version.
  const templateHash = createHash("sha256").update(`${settings.service}@${settings.version}`).digest("hex");
  const podName = (index: number) => {
    const suffix = createHash("sha256").update(`${templateHash}/${index}`).digest("hex").slice(0, 5);
    return `${settings.service}-${templateHash.slice(0, 10)}-${suffix}`;
  };
  const pods: Pod[] = [];
  let updatedAt = now();
  // Counters move at the rate in force since the last change, so a scrape reads exact values.
  const advance = () => {
    const at = now();
    const perPod = pods.length === 0 ? 0 : Math.min(limit, demand / pods.length);
    for (const pod of pods) pod.cpuSeconds += (perPod * (at - updatedAt)) / 1000;
    updatedAt = at;
  };
  const scale = (replicas: number) => {
    check(replicas, "replicas", true);
    advance();
    while (pods.length < replicas) pods.push({ name: podName(pods.length), cpuSeconds: 0 });
    pods.splice(replicas);
  };
  scale(settings.replicas ?? 1);
  const labels = (pod: Pod) => `namespace="${namespace}",pod="${pod.name}",container="${settings.service}"`;
  return {
    get replicas() {
      return pods.length;
    },
    get cpuDemand() {
      return demand;
    },
    get pods() {
      return pods.map((pod) => pod.name);
    },
    scale,
    setCpuDemand(cores) {
      check(cores, "cpuDemand", false);
      advance();
      demand = cores;
    },
    exposition() {
      advance();
      const lines = [
        "# TYPE kube_deployment_spec_replicas gauge",
        `kube_deployment_spec_replicas{namespace="${namespace}",deployment="${settings.service}"} ${pods.length}`,
      ];
      if (pods.length > 0) {
        lines.push("# TYPE container_cpu_usage_seconds_total counter");
        for (const pod of pods)
          lines.push(`container_cpu_usage_seconds_total{${labels(pod)}} ${pod.cpuSeconds}`);
        lines.push("# TYPE kube_pod_container_resource_limits gauge");
        for (const pod of pods) {
          lines.push(
            `kube_pod_container_resource_limits{${labels(pod)},resource="cpu",unit="core"} ${limit}`,
          );
        }
      }
      return `${lines.join("\n")}\n`;
    },
  };
}
