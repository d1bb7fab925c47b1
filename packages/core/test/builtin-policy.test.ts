import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  BadInputError,
  type BuiltinPolicySettings,
  builtinPolicy,
  Decision,
  DecisionInput,
  decideBuiltin,
  type JsonObject,
} from "../src/index.js";

type RawInput = z.input<typeof DecisionInput>;
type RawHistoryEntry = RawInput["history"][number];

const now = "2026-05-01T12:00:00.000Z";
const minute = 60_000;
const window = 30 * minute;
const previousImage = "registry/checkout:v1.1.0";

/** A timestamp `ms` before `now`. */
function ago(ms: number): string {
  return new Date(Date.parse(now) - ms).toISOString();
}

function entry(
  at: string,
  action = "rollback",
  outcome: RawHistoryEntry["outcome"] = "succeeded",
): RawHistoryEntry {
  return { incident_id: `inc-${at}`, action, at, outcome };
}

interface Patch extends Partial<Omit<RawInput, "alert">> {
  /** Labels merged over `{ alertname, severity: "critical", service }`; `undefined` removes one. */
  readonly labels?: Record<string, string | undefined>;
}

/** A valid `DecisionInput` for `alertname`, checked with the schema so a test cannot feed a malformed one. */
function makeInput(alertname: string, patch: Patch = {}): DecisionInput {
  const { labels: labelPatch, ...rest } = patch;
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries({
    alertname,
    severity: "critical",
    service: "checkout",
    ...labelPatch,
  })) {
    if (value !== undefined) labels[key] = value;
  }
  const raw: RawInput = {
    alert: {
      labels,
      annotations: { summary: `${alertname} on checkout` },
      status: "firing",
      starts_at: ago(5 * minute),
      fingerprint: "3f2a9c1d0e8b7a65",
    },
    service: "checkout",
    incident: {
      id: "inc-1",
      key: `checkout/${alertname}`,
      alertname,
      opened_at: ago(4 * minute),
      signal_count: 1,
    },
    metrics: {},
    current_replicas: 3,
    max_replicas: 10,
    deployment: {
      image: "registry/checkout:v1.2.0",
      previous_image: previousImage,
      replicas: 3,
      quarantined: [],
    },
    history: [],
    now,
    ...rest,
  };
  return DecisionInput.parse(raw);
}

const errorRate = (patch: Patch = {}) =>
  makeInput("HighErrorRate", { metrics: { error_rate: 0.3, restart_count: 5 }, ...patch });
const highCpu = (patch: Patch = {}) => makeInput("HighCPU", { metrics: { cpu_usage: 0.92 }, ...patch });

interface Case {
  readonly name: string;
  readonly input: DecisionInput;
  readonly settings?: BuiltinPolicySettings;
  readonly action: string;
  readonly escalate: boolean;
  /** A substring of the reason, or a pattern it must match. */
  readonly reason: string | RegExp;
  readonly params?: JsonObject;
}

const cases: Case[] = [
  // Rollback rule: the happy path and the alertname source.
  {
    name: "rollback to the known previous image",
    input: errorRate(),
    action: "rollback",
    escalate: false,
    reason: `error rate 0.3 > 0.05 and 5 restarts > 3: roll back to ${previousImage}`,
    params: { image: previousImage },
  },
  {
    name: "alertname from the incident when the label is missing",
    input: errorRate({ labels: { alertname: undefined } }),
    action: "rollback",
    escalate: false,
    reason: "roll back to",
  },
  {
    name: "just above both thresholds",
    input: errorRate({ metrics: { error_rate: 0.051, restart_count: 4 } }),
    action: "rollback",
    escalate: false,
    reason: "error rate 0.051 > 0.05 and 4 restarts > 3",
  },
  // Missing metrics are unknown, not zero.
  {
    name: "both metrics missing",
    input: errorRate({ metrics: {} }),
    action: "none",
    escalate: true,
    reason: /metrics unknown: error_rate, restart_count$/,
  },
  {
    name: "error_rate missing",
    input: errorRate({ metrics: { restart_count: 5 } }),
    action: "none",
    escalate: true,
    reason: /metrics unknown: error_rate$/,
  },
  {
    name: "restart_count missing",
    input: errorRate({ metrics: { error_rate: 0.3 } }),
    action: "none",
    escalate: true,
    reason: /metrics unknown: restart_count$/,
  },
  {
    name: "error_rate 0 is known, not missing",
    input: errorRate({ metrics: { error_rate: 0, restart_count: 5 } }),
    action: "none",
    escalate: false,
    reason: "error rate 0 (threshold 0.05)",
  },
  // Thresholds are exclusive.
  {
    name: "error_rate exactly at the threshold",
    input: errorRate({ metrics: { error_rate: 0.05, restart_count: 5 } }),
    action: "none",
    escalate: false,
    reason: "error rate 0.05 (threshold 0.05) and 5 restarts (threshold 3)",
  },
  {
    name: "restart_count exactly at the threshold",
    input: errorRate({ metrics: { error_rate: 0.3, restart_count: 3 } }),
    action: "none",
    escalate: false,
    reason: "3 restarts (threshold 3): both must exceed",
  },
  {
    name: "custom error rate threshold",
    input: errorRate(),
    settings: { errorRateThreshold: 0.5 },
    action: "none",
    escalate: false,
    reason: "error rate 0.3 (threshold 0.5)",
  },
  // Rollback history.
  {
    name: "two rollbacks in the window",
    input: errorRate({ history: [entry(ago(5 * minute)), entry(ago(20 * minute))] }),
    action: "none",
    escalate: true,
    reason: "rollback limit reached: 2 rollbacks in the last 30m",
  },
  {
    name: "two rollbacks, one just outside the window",
    input: errorRate({ history: [entry(ago(5 * minute)), entry(ago(window + 1))] }),
    action: "rollback",
    escalate: false,
    reason: "roll back to",
  },
  {
    name: "two rollbacks, one exactly at the window boundary (outside)",
    input: errorRate({ history: [entry(ago(5 * minute)), entry(ago(window))] }),
    action: "rollback",
    escalate: false,
    reason: "roll back to",
  },
  {
    name: "two rollbacks, one just inside the window boundary",
    input: errorRate({ history: [entry(ago(5 * minute)), entry(ago(window - 1))] }),
    action: "none",
    escalate: true,
    reason: "rollback limit reached: 2 rollbacks",
  },
  {
    name: "dry-run rollbacks do not count",
    input: errorRate({
      history: [
        entry(ago(minute), "rollback", "dry_run"),
        entry(ago(2 * minute), "rollback", "dry_run"),
        entry(ago(3 * minute)),
      ],
    }),
    action: "rollback",
    escalate: false,
    reason: "roll back to",
  },
  {
    name: "scale_up actions do not count",
    input: errorRate({
      history: [entry(ago(minute), "scale_up"), entry(ago(2 * minute), "scale_up"), entry(ago(3 * minute))],
    }),
    action: "rollback",
    escalate: false,
    reason: "roll back to",
  },
  {
    name: "failed and pending rollbacks count",
    input: errorRate({
      history: [entry(ago(minute), "rollback", "pending"), entry(ago(2 * minute), "rollback", "failed")],
    }),
    action: "none",
    escalate: true,
    reason: "rollback limit reached: 2 rollbacks",
  },
  {
    name: "history timestamps with an offset",
    input: errorRate({ history: [entry("2026-05-01T13:55:00+02:00"), entry("2026-05-01T13:50:00+02:00")] }),
    action: "none",
    escalate: true,
    reason: "rollback limit reached: 2 rollbacks",
  },
  {
    name: "custom limit and window",
    input: errorRate({ history: [entry(ago(45 * minute))] }),
    settings: { maxRollbacks: 1, rollbackWindowMs: 60 * minute },
    action: "none",
    escalate: true,
    reason: "rollback limit reached: 1 rollbacks in the last 1h",
  },
  // The rollback target.
  {
    name: "previous image known to be absent (null)",
    input: errorRate({ deployment: { image: "registry/checkout:v1.2.0", previous_image: null } }),
    action: "none",
    escalate: true,
    reason: "no previous version to roll back to",
  },
  {
    name: "previous image unknown (undefined)",
    input: errorRate({ deployment: { image: "registry/checkout:v1.2.0" } }),
    action: "rollback",
    escalate: false,
    reason: "roll back to the previous version",
    params: {},
  },
  {
    name: "no deployment facts at all",
    input: errorRate({ deployment: undefined }),
    action: "rollback",
    escalate: false,
    reason: "roll back to the previous version",
    params: {},
  },
  {
    name: "previous image quarantined",
    input: errorRate({
      deployment: { previous_image: previousImage, quarantined: ["registry/checkout:v1.0.0", previousImage] },
    }),
    action: "none",
    escalate: true,
    reason: `previous version ${previousImage} is quarantined`,
  },
  {
    name: "other versions quarantined",
    input: errorRate({
      deployment: { previous_image: previousImage, quarantined: ["registry/checkout:v1.0.0"] },
    }),
    action: "rollback",
    escalate: false,
    reason: previousImage,
    params: { image: previousImage },
  },
  // Severity.
  {
    name: "HighErrorRate with severity warning",
    input: errorRate({ labels: { severity: "warning" } }),
    action: "none",
    escalate: false,
    reason: 'severity "warning"',
  },
  {
    name: "HighErrorRate without a severity label",
    input: errorRate({ labels: { severity: undefined } }),
    action: "none",
    escalate: false,
    reason: "no severity label",
  },
  // Scale rule.
  {
    name: "scale up by one",
    input: highCpu(),
    action: "scale_up",
    escalate: false,
    reason: "cpu usage 0.92 > 0.8: scale from 3 to 4 replicas (max 10)",
    params: { replicas: 4 },
  },
  {
    name: "scale up by a custom step",
    input: highCpu(),
    settings: { scaleStep: 2 },
    action: "scale_up",
    escalate: false,
    reason: "scale from 3 to 5",
    params: { replicas: 5 },
  },
  {
    name: "scale up clamped at max replicas",
    input: highCpu({ current_replicas: 9 }),
    settings: { scaleStep: 3 },
    action: "scale_up",
    escalate: false,
    reason: "scale from 9 to 10 replicas (max 10)",
    params: { replicas: 10 },
  },
  {
    name: "HighCPU ignores severity, as the seed did",
    input: highCpu({ labels: { severity: "warning" } }),
    action: "scale_up",
    escalate: false,
    reason: "scale from 3 to 4",
  },
  {
    name: "cpu_usage missing",
    input: highCpu({ metrics: {} }),
    action: "none",
    escalate: true,
    reason: "metric unknown: cpu_usage",
  },
  {
    name: "cpu_usage exactly at the threshold",
    input: highCpu({ metrics: { cpu_usage: 0.8 } }),
    action: "none",
    escalate: false,
    reason: "cpu usage 0.8 ≤ 0.8",
  },
  {
    name: "current_replicas missing",
    input: highCpu({ current_replicas: undefined }),
    action: "none",
    escalate: true,
    reason: /unknown current_replicas$/,
  },
  {
    name: "both replica counts missing",
    input: highCpu({ current_replicas: undefined, max_replicas: undefined }),
    action: "none",
    escalate: true,
    reason: /unknown current_replicas, max_replicas$/,
  },
  {
    name: "HighCPU at max replicas",
    input: highCpu({ current_replicas: 10 }),
    action: "none",
    escalate: true,
    reason: "already at max replicas (10)",
  },
  {
    name: "HighCPU above max replicas",
    input: highCpu({ current_replicas: 12 }),
    action: "none",
    escalate: true,
    reason: "already at max replicas (10)",
  },
  // A resolved alert comes first: no action, whatever the (possibly lagging) metrics say.
  {
    name: "resolved alert with metrics still above the thresholds",
    input: { ...errorRate(), alert: { ...errorRate().alert, status: "resolved" } },
    action: "none",
    escalate: false,
    reason: "alert HighErrorRate resolved before any action",
  },
  // Other alerts.
  {
    name: "unknown alertname",
    input: makeInput("DiskFull", { metrics: { error_rate: 0.9, restart_count: 9, cpu_usage: 0.99 } }),
    action: "none",
    escalate: false,
    reason: "no rule for alert DiskFull",
  },
  {
    name: "the alertname label wins over the incident's",
    input: makeInput("HighErrorRate", { labels: { alertname: "HighCPU" }, metrics: { cpu_usage: 0.9 } }),
    action: "scale_up",
    escalate: false,
    reason: "scale from 3 to 4",
  },
];

describe("decideBuiltin", () => {
  it.each(cases)("$name", ({ input, settings, action, escalate, reason, params }) => {
    const decision = decideBuiltin(input, settings);
    expect(decision.action).toBe(action);
    expect(decision.escalate).toBe(escalate);
    expect(decision.reason).toMatch(reason);
    if (params !== undefined) expect(decision.params).toEqual(params);
    // Always complete and valid as the controller will parse it.
    expect(Decision.parse(decision)).toEqual(decision);
    expect(Object.keys(decision).sort()).toEqual(["action", "escalate", "params", "reason"]);
  });

  it("never throws and always decides, for many odd but valid inputs", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
    const maybe = <T>(value: T): T | undefined => (random() < 0.3 ? undefined : value);
    for (let run = 0; run < 300; run++) {
      const metrics: Record<string, number> = {};
      for (const key of ["error_rate", "restart_count", "cpu_usage", "latency_p99"]) {
        const value = maybe(pick([0, -1, 0.05, 0.8, 3, 1e9, random()]));
        if (value !== undefined) metrics[key] = value;
      }
      const input = makeInput(pick(["HighErrorRate", "HighCPU", "Other", ""]), {
        labels: { severity: maybe(pick(["critical", "warning", ""])) },
        metrics,
        history: Array.from({ length: Math.floor(random() * 4) }, () =>
          entry(
            ago((random() - 0.2) * 2 * window),
            pick(["rollback", "scale_up"]),
            pick(["pending", "succeeded", "failed", "dry_run"]),
          ),
        ),
        current_replicas: maybe(Math.floor(random() * 12)),
        max_replicas: maybe(Math.floor(random() * 12)),
        deployment: maybe({
          previous_image: maybe(pick([null, previousImage])),
          quarantined: [previousImage],
        }),
      });
      const decision = decideBuiltin(input);
      expect(Decision.safeParse(decision).success).toBe(true);
      expect(decision.reason.length).toBeGreaterThan(0);
    }
  });
});

describe("builtinPolicy", () => {
  it("is named builtin unless told otherwise", () => {
    expect(builtinPolicy().name).toBe("builtin");
    expect(builtinPolicy({ name: "strict" }).name).toBe("strict");
  });

  it("decides as decideBuiltin with the same settings", async () => {
    const settings = { scaleStep: 2, cpuThreshold: 0.9 };
    const policy = builtinPolicy(settings);
    const options = { signal: new AbortController().signal };
    for (const input of [highCpu(), highCpu({ metrics: { cpu_usage: 0.95 } }), errorRate()]) {
      expect(await policy.decide(input, options)).toEqual(decideBuiltin(input, settings));
    }
  });

  it.each<[BuiltinPolicySettings, string]>([
    [{ scaleStep: 0 }, "scaleStep"],
    [{ scaleStep: 1.5 }, "scaleStep"],
    [{ maxRollbacks: -1 }, "maxRollbacks"],
    [{ rollbackWindowMs: 0 }, "rollbackWindowMs"],
    [{ errorRateThreshold: Number.NaN }, "errorRateThreshold"],
    [{ cpuThreshold: Number.POSITIVE_INFINITY }, "cpuThreshold"],
    [{ name: "" }, "name"],
  ])("rejects invalid settings %o at creation", (settings, path) => {
    try {
      builtinPolicy(settings);
      expect.unreachable("builtinPolicy accepted invalid settings");
    } catch (error) {
      expect(BadInputError.isInstance(error)).toBe(true);
      expect((error as BadInputError).path).toBe(path);
    }
  });

  it("with restartThreshold false rolls back on the error rate alone, restarts unknown", () => {
    const decision = decideBuiltin(errorRate({ metrics: { error_rate: 0.3 } }), { restartThreshold: false });
    expect(decision).toMatchObject({ action: "rollback" });
    expect(decision.reason).toBe(`error rate 0.3 > 0.05: roll back to ${previousImage}`);
    const low = decideBuiltin(errorRate({ metrics: { error_rate: 0.01 } }), { restartThreshold: false });
    expect(low).toMatchObject({ action: "none", escalate: false });
    const unknown = decideBuiltin(errorRate({ metrics: {} }), { restartThreshold: false });
    expect(unknown).toMatchObject({
      action: "none",
      escalate: true,
      reason: "cannot decide on rollback: metrics unknown: error_rate",
    });
  });

  it("with maxRollbacks 0 never rolls back on its own", () => {
    const decision = decideBuiltin(errorRate(), { maxRollbacks: 0 });
    expect(decision).toMatchObject({ action: "none", escalate: true });
  });
});
