import { prometheusMetrics } from "@selfheal/adapter-prometheus";
import { type Enricher, toMs } from "@selfheal/core";
import { type GitWorkspace, gitopsDeployment } from "@selfheal/gitops";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { definedOnly } from "./defined-only.js";
import { changeTargets } from "./wire-remediate.js";
import { resolveService } from "./wire-services.js";

/** The enrichers of `enrich`: Prometheus metrics, then the deployment from the config repo. */
export function wireEnrichers(config: SelfhealConfig, workspace: GitWorkspace | undefined): Enricher[] {
  const enrichers: Enricher[] = [];
  const prometheus = config.enrich.prometheus;
  if (prometheus !== undefined) {
    const withQueries = (queries: PrometheusConfig["queries"]) =>
      prometheusMetrics(
        definedOnly({
          url: prometheus.url,
          auth: prometheus.bearerToken === undefined ? undefined : { bearer: prometheus.bearerToken },
          queries,
          window: prometheus.window,
          timeoutMs: toMs(prometheus.timeout, "enrich.prometheus.timeout"),
          queryTimeoutMs: toMs(prometheus.queryTimeout, "enrich.prometheus.queryTimeout"),
          levelCheck: prometheus.levelCheck,
          alertExpressions: prometheus.alertExpressions,
        }),
      );
    const main = withQueries(prometheus.queries);
    enrichers.push(hasServiceQueries(config) ? perServiceQueries(config, main, withQueries) : main);
  }
  const gitops = config.remediate.gitops;
  if (config.enrich.gitopsDeployment && gitops !== undefined && workspace !== undefined) {
    enrichers.push(
      gitopsDeployment(definedOnly({ workspace, maxReplicas: gitops.maxReplicas, ...changeTargets(gitops) })),
    );
  }
  return enrichers;
}

type PrometheusConfig = NonNullable<SelfhealConfig["enrich"]["prometheus"]>;

function hasServiceQueries(config: SelfhealConfig): boolean {
  const services = config.services;
  return [services.defaults, ...services.groups, ...Object.values(services.byName)].some(
    (layer) => layer.queries !== undefined,
  );
}

/**
 * The Prometheus enricher with each service's own query templates (services.*.queries), one
 * enricher per distinct set, built once and kept. Templates are checked when built: a bad one
 * fails the first incident of that service instead of the start, so `check` is where to find it.
 */
function perServiceQueries(
  config: SelfhealConfig,
  main: Enricher,
  withQueries: (queries: PrometheusConfig["queries"]) => Enricher,
): Enricher {
  const built = new Map<string, Enricher>([[JSON.stringify(config.enrich.prometheus?.queries ?? {}), main]]);
  return {
    name: main.name,
    ...(main.timeoutMs === undefined ? {} : { timeoutMs: main.timeoutMs }),
    enrich: (options) => {
      const { queries } = resolveService(config, options.incident.service, options.incident.labels);
      const key = JSON.stringify(queries);
      let enricher = built.get(key);
      if (enricher === undefined) {
        enricher = withQueries(queries);
        built.set(key, enricher);
      }
      return enricher.enrich(options);
    },
  };
}
