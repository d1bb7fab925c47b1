/**
 * Ratio of 5xx responses of the service over the window, 0..1. The numerator falls back to 0
 * when the service answered no 5xx at all (no such series), so "no errors" reads 0; with no
 * requests at all the denominator is empty (missing) or 0 (NaN, missing): never a fake 0.
 * Same shape as the seed's HighErrorRate rule.
 */
export const defaultErrorRateQuery =
  '(sum(rate(http_requests_total{status=~"5..",service="{{service}}"}[{{window}}])) or on() vector(0))' +
  ' / sum(rate(http_requests_total{service="{{service}}"}[{{window}}]))';

/**
 * Container restarts of the service in the window (kube-state-metrics), summed over its pods: the
 * container named like the service, in the alert's namespace when the alert has a `namespace`
 * label (an optional matcher: without one, every namespace).
 */
export const defaultRestartCountQuery =
  'sum(increase(kube_pod_container_status_restarts_total{namespace="{{labels.namespace?}}",container="{{service}}"}[{{window}}]))';

/**
 * CPU used by the service's containers as a share of their CPU limits (cAdvisor and
 * kube-state-metrics), in the alert's namespace when it has one.
 */
export const defaultCpuUsageQuery =
  'sum(rate(container_cpu_usage_seconds_total{namespace="{{labels.namespace?}}",container="{{service}}"}[{{window}}]))' +
  ' / sum(kube_pod_container_resource_limits{namespace="{{labels.namespace?}}",container="{{service}}",resource="cpu"})';

/** The metrics `prometheusMetrics` reads unless told otherwise: the ones the seed's policy reads. */
export const defaultMetricQueries: Readonly<Record<string, string>> = {
  error_rate: defaultErrorRateQuery,
  restart_count: defaultRestartCountQuery,
  cpu_usage: defaultCpuUsageQuery,
};

/**
 * Alert conditions known without configuration, by alert name, for the level check: the seed's
 * HighErrorRate rule (with the configured window, `5m` by default as in the rule).
 */
export const defaultAlertExpressions: Readonly<Record<string, string>> = {
  HighErrorRate:
    'sum(rate(http_requests_total{status=~"5..",service="{{service}}"}[{{window}}]))' +
    ' / sum(rate(http_requests_total{service="{{service}}"}[{{window}}])) > 0.05',
};
