import { BadInputError } from "../errors/selfheal-error.js";
import type { Decision, DecisionInput } from "../spec/decision.js";
import type { Policy } from "../spec/policy.js";
import { formatMs } from "../util/duration.js";

/** Settings of the built-in policy. Every threshold is exclusive: a value must exceed it. */
export interface BuiltinPolicySettings {
  /**
   * Roll back only when `metrics.error_rate` is above this ratio.
   * @default 0.05
   */
  readonly errorRateThreshold?: number;
  /**
   * Roll back only when `metrics.restart_count` is above this count. `false`: restarts are no
   * condition (a service that degrades without crashing), and `restart_count` may be unknown.
   * @default 3
   */
  readonly restartThreshold?: number | false;
  /**
   * Scale up only when `metrics.cpu_usage` is above this share of the limit.
   * @default 0.8
   */
  readonly cpuThreshold?: number;
  /**
   * Rollbacks (not counting dry runs) allowed within `rollbackWindowMs`; at this many, escalate instead.
   * @default 2
   */
  readonly maxRollbacks?: number;
  /**
   * Look-back for `maxRollbacks`, in milliseconds.
   * @default 1_800_000 (30 minutes)
   */
  readonly rollbackWindowMs?: number;
  /**
   * Replicas added by one scale-up, capped at `max_replicas`.
   * @default 1
   */
  readonly scaleStep?: number;
  /**
   * Name recorded with every decision.
   * @default "builtin"
   */
  readonly name?: string;
}

type BuiltinPolicyConfig = Required<BuiltinPolicySettings>;

function resolveSettings(settings: BuiltinPolicySettings): BuiltinPolicyConfig {
  const config: BuiltinPolicyConfig = {
    errorRateThreshold: settings.errorRateThreshold ?? 0.05,
    restartThreshold: settings.restartThreshold ?? 3,
    cpuThreshold: settings.cpuThreshold ?? 0.8,
    maxRollbacks: settings.maxRollbacks ?? 2,
    rollbackWindowMs: settings.rollbackWindowMs ?? 30 * 60_000,
    scaleStep: settings.scaleStep ?? 1,
    name: settings.name ?? "builtin",
  };
  const invalid = (key: keyof BuiltinPolicyConfig, expected: string): never => {
    throw new BadInputError(`builtin policy: ${key} must be ${expected}, got ${String(config[key])}`, {
      adapter: "builtin-policy",
      path: key,
    });
  };
  for (const key of ["errorRateThreshold", "cpuThreshold"] as const) {
    if (!Number.isFinite(config[key])) invalid(key, "a finite number");
  }
  if (config.restartThreshold !== false && !Number.isFinite(config.restartThreshold)) {
    invalid("restartThreshold", "a finite number or false");
  }
  // 0 is allowed: never roll back on its own, always escalate instead.
  if (!Number.isInteger(config.maxRollbacks) || config.maxRollbacks < 0)
    invalid("maxRollbacks", "an integer ≥ 0");
  if (!Number.isFinite(config.rollbackWindowMs) || config.rollbackWindowMs <= 0) {
    invalid("rollbackWindowMs", "a positive number");
  }
  if (!Number.isInteger(config.scaleStep) || config.scaleStep < 1) invalid("scaleStep", "an integer ≥ 1");
  if (config.name === "") invalid("name", "a non-empty string");
  return config;
}

/**
 * The built-in TypeScript policy: the seed's Rego rules with an explicit precedence (a resolved alert
 * first, then one rule per alert name), one reason per outcome, history read from `input.history`,
 * and unknown metrics treated as unknown (escalate), not 0. A notification the sender truncated
 * (`alert.truncated_alerts`) still decides, but with `escalate: true` and the count in the reason.
 * The shipped Rego policy
 * (`@selfheal/adapter-opa/policies/selfheal.rego`) agrees with it on the decision corpus.
 *
 * @throws BadInputError when a setting is out of range (at creation, never while deciding).
 */
export function builtinPolicy(settings: BuiltinPolicySettings = {}): Policy {
  const config = resolveSettings(settings);
  return {
    name: config.name,
    decide: (input) => decide(input, config),
  };
}

/**
 * The decision logic of {@link builtinPolicy} as a pure function. Never throws for an input that
 * parses as `DecisionInput`; always returns a complete `Decision`.
 *
 * @throws BadInputError when a setting is out of range.
 */
export function decideBuiltin(input: DecisionInput, settings: BuiltinPolicySettings = {}): Decision {
  return decide(input, resolveSettings(settings));
}

function decide(input: DecisionInput, config: BuiltinPolicyConfig): Decision {
  const decision = decideByRule(input, config);
  const leftOut = input.alert.truncated_alerts ?? 0;
  if (leftOut <= 0) return decision;
  // Alerts the sender left out of the notification may be worse than the one seen: decide on
  // what was seen, but ask for a human as well.
  return { ...decision, reason: `${decision.reason}; ${truncatedText(leftOut)}`, escalate: true };
}

function truncatedText(leftOut: number): string {
  const what = leftOut === 1 ? "1 alert was" : `${leftOut} alerts were`;
  return `${what} left out of the notification (truncated by the sender): check the rest of the group`;
}

function decideByRule(input: DecisionInput, config: BuiltinPolicyConfig): Decision {
  const labelName = input.alert.labels.alertname;
  const alertname = labelName !== undefined && labelName !== "" ? labelName : input.incident.alertname;
  // Checked before any rule: a resolved alert needs no action, whatever the metrics (which may
  // lag the alert) still say.
  if (input.alert.status === "resolved") return none(`alert ${alertname} resolved before any action`);
  // One rule per alert name, so at most one rule applies: a HighErrorRate alert never scales up
  // because CPU is also high, and the reverse.
  if (alertname === "HighErrorRate") return decideRollback(input, config);
  if (alertname === "HighCPU") return decideScaleUp(input, config);
  if (alertname === "ArgoCDSyncFailed" || alertname === "ArgoCDDegradedAfterRelease") {
    return decideReleaseRollback(alertname, input, config);
  }
  if (alertname === "ArgoCDHealthDegraded") {
    return none(
      `${alertname}: Argo CD reports the application Degraded, not soon after a release: nothing to roll back, a person should look`,
      true,
    );
  }
  return none(`no rule for alert ${alertname}`);
}

/**
 * A release that Argo CD failed to sync, or that turned the application Degraded soon after its
 * sync: roll it back when it is the config repository's last release (its history says which
 * commit introduced what runs now); escalate when the failure is another revision's, or when
 * either revision is unknown. Only facts from an Argo CD notifications source count
 * (`input.argocd`), never labels an alert could carry.
 */
function decideReleaseRollback(
  alertname: string,
  input: DecisionInput,
  config: BuiltinPolicyConfig,
): Decision {
  const argocd = input.argocd;
  if (argocd === undefined) {
    return none(
      `${alertname} did not come from an Argo CD notifications source: no Argo CD facts to decide on`,
      true,
    );
  }
  if (argocd.revision === "")
    return none(`${alertname}: Argo CD sent no revision: cannot tell what to roll back`, true);
  const what =
    argocd.event === "sync-failed"
      ? `the sync of revision ${argocd.revision} failed`
      : `the application turned Degraded soon after revision ${argocd.revision} was synced`;
  const release = input.deployment?.release_revision;
  if (release === undefined) {
    return none(
      `${what}, but the last release in the config repository is unknown: cannot tell that it is the one to roll back`,
      true,
    );
  }
  if (release !== argocd.revision) {
    return none(
      `${what}, but the last release in the config repository is ${release}: the failure is not the last release's`,
      true,
    );
  }
  return rollbackUnlessBlocked(input, config, what, `${what}, the last release`);
}

function decideRollback(input: DecisionInput, config: BuiltinPolicyConfig): Decision {
  const severity = input.alert.labels.severity;
  if (severity !== "critical") {
    const found = severity === undefined ? "no severity label" : `severity "${severity}"`;
    return none(`HighErrorRate with ${found}: rollback needs severity "critical"`);
  }
  const errorRate = input.metrics.error_rate;
  const restarts = input.metrics.restart_count;
  const needRestarts = config.restartThreshold !== false;
  if (errorRate === undefined || (needRestarts && restarts === undefined)) {
    const missing = [
      errorRate === undefined && "error_rate",
      needRestarts && restarts === undefined && "restart_count",
    ];
    const names = missing.filter((name) => name !== false).join(", ");
    return none(`cannot decide on rollback: metrics unknown: ${names}`, true);
  }
  const restartPart =
    config.restartThreshold === false
      ? ""
      : ` and ${restarts} restarts (threshold ${config.restartThreshold})`;
  const measured = `error rate ${errorRate} (threshold ${config.errorRateThreshold})${restartPart}`;
  const restartsLow = config.restartThreshold !== false && (restarts ?? 0) <= config.restartThreshold;
  if (errorRate <= config.errorRateThreshold || restartsLow) {
    return none(
      config.restartThreshold === false
        ? `${measured}: the error rate must exceed its threshold to roll back`
        : `${measured}: both must exceed their threshold to roll back`,
    );
  }
  const exceeded =
    config.restartThreshold === false
      ? `error rate ${errorRate} > ${config.errorRateThreshold}`
      : `error rate ${errorRate} > ${config.errorRateThreshold} and ${restarts} restarts > ${config.restartThreshold}`;
  return rollbackUnlessBlocked(input, config, exceeded, exceeded);
}

/**
 * The end every rollback rule shares: at the rollback limit, without a previous version, or with
 * a quarantined one, escalate; else roll back to the previous image, or, when it is unknown, let
 * the remediator resolve the target from the config repo's history. `subject` opens the reasons
 * of the escalations, `lead` the rollback's.
 */
function rollbackUnlessBlocked(
  input: DecisionInput,
  config: BuiltinPolicyConfig,
  subject: string,
  lead: string,
): Decision {
  const recent = countRecentRollbacks(input, config.rollbackWindowMs);
  if (recent >= config.maxRollbacks) {
    return none(
      `rollback limit reached: ${recent} rollbacks in the last ${formatMs(config.rollbackWindowMs)}`,
      true,
    );
  }
  const previous = input.deployment?.previous_image;
  if (previous === null) return none(`${subject}, but there is no previous version to roll back to`, true);
  if (previous !== undefined && (input.deployment?.quarantined ?? []).includes(previous)) {
    return none(`${subject}, but the previous version ${previous} is quarantined`, true);
  }
  return {
    action: "rollback",
    params: previous === undefined ? {} : { image: previous },
    reason: `${lead}: roll back to ${previous ?? "the previous version"}`,
    escalate: false,
  };
}

function decideScaleUp(input: DecisionInput, config: BuiltinPolicyConfig): Decision {
  const cpu = input.metrics.cpu_usage;
  if (cpu === undefined) return none("cannot decide on scale_up: metric unknown: cpu_usage", true);
  if (cpu <= config.cpuThreshold) return none(`cpu usage ${cpu} ≤ ${config.cpuThreshold}: no scale-up`);
  const current = input.current_replicas;
  const max = input.max_replicas;
  if (current === undefined || max === undefined) {
    const missing = [current === undefined && "current_replicas", max === undefined && "max_replicas"];
    const names = missing.filter((name) => name !== false).join(", ");
    return none(`cpu usage ${cpu} > ${config.cpuThreshold}, but cannot scale up: unknown ${names}`, true);
  }
  if (current >= max) {
    return none(`cpu usage ${cpu} > ${config.cpuThreshold}, but already at max replicas (${max})`, true);
  }
  const replicas = Math.min(max, current + config.scaleStep);
  return {
    action: "scale_up",
    params: { replicas },
    reason: `cpu usage ${cpu} > ${config.cpuThreshold}: scale from ${current} to ${replicas} replicas (max ${max})`,
    escalate: false,
  };
}

/**
 * Rollbacks that really ran (any outcome but `dry_run`) and started after `now - window`. An entry
 * exactly at the boundary is outside; one later than `now` (clock skew) is counted, to err on the safe side.
 */
function countRecentRollbacks(input: DecisionInput, windowMs: number): number {
  const since = Date.parse(input.now) - windowMs;
  return input.history.filter(
    (entry) => entry.action === "rollback" && entry.outcome !== "dry_run" && Date.parse(entry.at) > since,
  ).length;
}

function none(reason: string, escalate = false): Decision {
  return { action: "none", params: {}, reason, escalate };
}
