import { prometheusMetrics } from "@selfheal/adapter-prometheus";
import { type Enricher, toMs } from "@selfheal/core";
import { type GitWorkspace, gitopsDeployment } from "@selfheal/gitops";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { definedOnly } from "./defined-only.js";
import { changeTargets } from "./wire-remediate.js";

/** The enrichers of `enrich`: Prometheus metrics, then the deployment from the config repo. */
export function wireEnrichers(config: SelfhealConfig, workspace: GitWorkspace | undefined): Enricher[] {
  const enrichers: Enricher[] = [];
  const prometheus = config.enrich.prometheus;
  if (prometheus !== undefined) {
    enrichers.push(
      prometheusMetrics(
        definedOnly({
          url: prometheus.url,
          auth: prometheus.bearerToken === undefined ? undefined : { bearer: prometheus.bearerToken },
          queries: prometheus.queries,
          window: prometheus.window,
          timeoutMs: toMs(prometheus.timeout, "enrich.prometheus.timeout"),
          queryTimeoutMs: toMs(prometheus.queryTimeout, "enrich.prometheus.queryTimeout"),
          levelCheck: prometheus.levelCheck,
          alertExpressions: prometheus.alertExpressions,
        }),
      ),
    );
  }
  const gitops = config.remediate.gitops;
  if (config.enrich.gitopsDeployment && gitops !== undefined && workspace !== undefined) {
    enrichers.push(
      gitopsDeployment(definedOnly({ workspace, maxReplicas: gitops.maxReplicas, ...changeTargets(gitops) })),
    );
  }
  return enrichers;
}
