/** One firing alert to put in a payload: labels and a fingerprint, the rest defaulted. */
export interface FiringAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly fingerprint: string;
  readonly annotations?: Readonly<Record<string, string>>;
  /** @default now */
  readonly startsAt?: string;
  /** @default "http://prometheus:9090/graph" */
  readonly generatorURL?: string;
}

/**
 * A webhook body exactly as Alertmanager (v0.34, payload version 4) posts it for firing alerts
 * of one group: for replays, demos, benchmarks and tests of your own controller.
 */
export function firingPayload(options: {
  readonly alerts: readonly FiringAlert[];
  /** Labels the route groups by; also builds the group key. */
  readonly groupLabels: Readonly<Record<string, string>>;
  /** @default "selfheal" */
  readonly receiver?: string;
  /** @default "http://alertmanager:9093" */
  readonly externalURL?: string;
}): Record<string, unknown> {
  const startsAt = new Date().toISOString();
  const alerts = options.alerts.map((alert) => ({
    status: "firing",
    labels: alert.labels,
    annotations: alert.annotations ?? {},
    startsAt: alert.startsAt ?? startsAt,
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: alert.generatorURL ?? "http://prometheus:9090/graph",
    fingerprint: alert.fingerprint,
  }));
  const groupKey = `{}:{${Object.entries(options.groupLabels)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(", ")}}`;
  return {
    receiver: options.receiver ?? "selfheal",
    status: "firing",
    alerts,
    groupLabels: options.groupLabels,
    commonLabels: commonOf(options.alerts.map((alert) => alert.labels)),
    commonAnnotations: commonOf(options.alerts.map((alert) => alert.annotations ?? {})),
    externalURL: options.externalURL ?? "http://alertmanager:9093",
    version: "4",
    groupKey,
    truncatedAlerts: 0,
  };
}

/** The key/values every map shares, as Alertmanager computes commonLabels. */
function commonOf(maps: readonly Readonly<Record<string, string>>[]): Record<string, string> {
  const [first, ...rest] = maps;
  if (first === undefined) return {};
  return Object.fromEntries(
    Object.entries(first).filter(([key, value]) => rest.every((map) => map[key] === value)),
  );
}
