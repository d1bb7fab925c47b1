import { describeError } from "@selfheal/core";
import { z } from "zod";
import { bodyPreview, type HttpClient, parseJson } from "./http-client.js";
import { isOutage, type MetricReading, type ReadingOptions, readQuery } from "./metric-reading.js";

/** The success envelope of `/api/v1/rules` (`RuleDiscovery`), only the alerting rules' fields we read. */
const RulesResponse = z.object({
  status: z.literal("success"),
  data: z.object({
    groups: z.array(
      z.object({
        rules: z.array(
          z.union([
            z.object({
              type: z.literal("alerting"),
              name: z.string(),
              query: z.string(),
              labels: z.record(z.string(), z.string()).nullish(),
            }),
            z.object({ type: z.literal("recording") }),
          ]),
        ),
      }),
    ),
  }),
});

/** An alerting rule as Prometheus itself serves it. */
export interface AlertRule {
  readonly name: string;
  readonly query: string;
  /** The rule's own static labels. */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * The alerting rules of one Prometheus, read from its rules API and kept for `ttlMs`. A level
 * check takes a rule's expression from here, never from the alert: the `generatorURL` of a
 * payload carries an expression too, but it is whatever the sender wrote, and evaluating it
 * would let a payload decide that its alert is stale (and so that nothing is done).
 */
export function createAlertRules(client: HttpClient, options: { readonly ttlMs: number }) {
  const cache = new Map<string, { readonly at: number; readonly rules: Promise<readonly AlertRule[]> }>();
  const fetchRules = async (alertname: string, reading: ReadingOptions): Promise<readonly AlertRule[]> => {
    // Servers before Prometheus 2.54 ignore `rule_name[]`: the names are filtered here too.
    const query = new URLSearchParams({ type: "alert", exclude_alerts: "true" });
    query.append("rule_name[]", alertname);
    const call = {
      operation: "rules",
      method: "GET",
      path: "/api/v1/rules",
      query,
      signal: reading.signal,
      timeoutMs: reading.timeoutMs,
    } as const;
    const answer = await client.send(call);
    if (answer.status < 200 || answer.status >= 300) {
      throw client.statusError(call, answer, bodyPreview(answer.body));
    }
    const parsed = RulesResponse.safeParse(parseJson(answer.body));
    if (!parsed.success) throw client.unexpectedBody(call, answer, parsed.error);
    const rules: AlertRule[] = [];
    for (const group of parsed.data.data.groups) {
      for (const rule of group.rules) {
        if (rule.type === "alerting" && rule.name === alertname) {
          rules.push({ name: rule.name, query: rule.query, labels: rule.labels ?? {} });
        }
      }
    }
    return rules;
  };
  return {
    /** The alerting rules named `alertname` (cached for `ttlMs`; a failed read is not kept). */
    rulesNamed(alertname: string, reading: ReadingOptions): Promise<readonly AlertRule[]> {
      const now = Date.now();
      const cached = cache.get(alertname);
      if (cached !== undefined && now - cached.at < options.ttlMs) return cached.rules;
      const rules = fetchRules(alertname, reading);
      cache.set(alertname, { at: now, rules });
      rules.catch(() => cache.delete(alertname));
      return rules;
    },
  };
}
export type AlertRules = ReturnType<typeof createAlertRules>;

/**
 * The alert's condition evaluated again through its rules as Prometheus serves them: the rules
 * named like the alert whose own labels the alert carries. A rule covers every series, so it holds
 * for this incident when a returned series has labels that all match the alert's (the alert's
 * labels are the series' plus the rule's). `undefined` when this Prometheus has no such rule
 * (the alert may come from another one): nothing is known then, and nothing is stale.
 */
export async function readRuleCondition(
  rules: AlertRules,
  incident: { readonly alertname: string; readonly labels: Readonly<Record<string, string>> },
  options: ReadingOptions,
): Promise<MetricReading | undefined> {
  let matching: readonly AlertRule[];
  try {
    matching = (await rules.rulesNamed(incident.alertname, options)).filter((rule) =>
      Object.entries(rule.labels).every(([key, value]) => incident.labels[key] === value),
    );
  } catch (error) {
    return {
      status: "error",
      query: `rules named ${incident.alertname}`,
      error: describeError(error),
      outage: isOutage(error),
    };
  }
  if (matching.length === 0) return undefined;
  const readings = await Promise.all(
    matching.map((rule) =>
      readQuery(rule.query, options, (sample) =>
        Object.entries(sample.labels).every(
          ([key, value]) => key === "__name__" || incident.labels[key] === value,
        ),
      ),
    ),
  );
  // Holds if any rule holds; stale only if every rule answered clearly with no series.
  return (
    readings.find((reading) => reading.status !== "empty" && reading.status !== "error") ??
    readings.find((reading) => reading.status === "error") ??
    readings[0]
  );
}
