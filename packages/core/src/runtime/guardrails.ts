import { access } from "node:fs/promises";
import { BadInputError } from "../errors/selfheal-error.js";
import type { Decision } from "../spec/decision.js";
import { actingStates, type Incident, type SuppressionReason } from "../spec/incident.js";
import type { Store } from "../spec/store.js";
import { type Duration, formatMs, toMs } from "../util/duration.js";

/** A period in which no automated change may land. */
export type FreezeWindow =
  | {
      /** Start of a one-off freeze (RFC 3339). */
      readonly from: string;
      /** End of it (RFC 3339). */
      readonly to: string;
      /** Shown in the suppression record (`"Black Friday"`). */
      readonly reason?: string;
      /** Only these services; absent means all. */
      readonly services?: readonly string[];
    }
  | {
      /** Days of a weekly freeze, in UTC. */
      readonly days: readonly ("sun" | "mon" | "tue" | "wed" | "thu" | "fri" | "sat")[];
      /** Start time of day, `HH:MM` UTC. @default "00:00" */
      readonly start?: string;
      /** End time of day, `HH:MM` UTC (exclusive). @default "24:00" */
      readonly end?: string;
      readonly reason?: string;
      readonly services?: readonly string[];
    };

/**
 * Limits applied after every decision, whatever the policy said. Each suppression is recorded
 * with its reason.
 */
export interface GuardrailSettings {
  /**
   * At most `max` actions per service per `window`, counted from the store so it holds across
   * restarts (and, with a shared store, across replicas). `false` turns it off.
   * @default { max: 2, window: "30m" }
   */
  readonly rateLimit?: { readonly max: number; readonly window: Duration } | false;
  /**
   * No new action on a service for this long after its last one started.
   * @default "5m"
   */
  readonly cooldown?: Duration;
  /**
   * At most this many actions under way at once, over all services.
   * @default 5
   */
  readonly maxConcurrent?: number;
  /**
   * After `failures` failed verifications of a service, no more automatic actions on it until
   * `controller.resetCircuit(service)` (or until `resetAfter`, when set). `false` turns it off.
   * @default { failures: 1 }
   */
  readonly circuitBreaker?: { readonly failures: number; readonly resetAfter?: Duration } | false;
  /**
   * Stop all automated side effects. Also on when `killSwitchFile` exists or the environment
   * variable `killSwitchEnv` is `1`/`true`/`on`; both are read before every side effect, so
   * operators can stop automation without a redeploy.
   * @default false
   */
  readonly killSwitch?: boolean;
  /** A file whose existence turns the kill switch on. */
  readonly killSwitchFile?: string;
  /** @default "SELFHEAL_KILL_SWITCH" */
  readonly killSwitchEnv?: string;
  /** Periods in which no change may land. */
  readonly freezeWindows?: readonly FreezeWindow[];
  /**
   * The most replicas an action may ask for: one number for every service, or per service
   * (with `default` for the rest). Also given to policies as `max_replicas`.
   */
  readonly replicaCap?:
    | number
    | { readonly default?: number; readonly services?: Readonly<Record<string, number>> };
  /**
   * Plan every action and record the plan, but carry out none: zero writes anywhere but the
   * audit trail. A function decides per incident (a service adopted in observe mode): it returns
   * why the incident runs dry (recorded as the suppression's detail), or `false`.
   * @default false
   */
  readonly dryRun?: boolean | ((incident: Incident) => string | false);
}

/** The circuit breaker of one service. */
export interface CircuitState {
  readonly open: boolean;
  /** Failed verifications since the last reset. */
  readonly failures: number;
  /** Whether a `circuit.opened` event was already written since the last reset. */
  readonly announced: boolean;
  readonly detail: string;
}

/** The verdict of the guardrails on one decision. */
export type GuardrailVerdict =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: SuppressionReason; readonly detail: string };

const allowed: GuardrailVerdict = { allowed: true };
const serviceName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const wildcard = /[*?[\]{},|]|^\.\*|^all$/i;
const dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;

/** The guardrails of one controller, with settings resolved. */
export interface Guardrails {
  /** Whether every incident runs dry (`dryRun: true`). */
  readonly dryRun: boolean;
  /** Why `incident` runs dry (plans only), or `undefined` when it may act. */
  dryRunOf(incident: Incident): string | undefined;
  /** The replica cap of a service, if one is set. */
  replicaCap(service: string): number | undefined;
  /** Whether the kill switch is on now, and why. */
  killSwitch(): Promise<string | undefined>;
  /** The circuit breaker of a service, as the audit trail tells it. */
  circuit(service: string, now: Date): Promise<CircuitState>;
  /**
   * Check a decision against every guardrail. `supported` says whether some remediator carries
   * out the action.
   */
  check(options: {
    readonly incident: Incident;
    readonly decision: Decision;
    readonly supported: boolean;
    readonly now: Date;
  }): Promise<GuardrailVerdict>;
}

export function createGuardrails(
  settings: GuardrailSettings,
  store: Store,
  env: NodeJS.ProcessEnv,
): Guardrails {
  const rateLimit =
    settings.rateLimit === false
      ? undefined
      : {
          max: settings.rateLimit?.max ?? 2,
          windowMs: toMs(settings.rateLimit?.window ?? "30m", "guardrails.rateLimit.window"),
        };
  const cooldownMs = toMs(settings.cooldown ?? "5m", "guardrails.cooldown");
  const maxConcurrent = settings.maxConcurrent ?? 5;
  const breaker =
    settings.circuitBreaker === false
      ? undefined
      : {
          failures: settings.circuitBreaker?.failures ?? 1,
          resetAfterMs:
            settings.circuitBreaker?.resetAfter === undefined
              ? undefined
              : toMs(settings.circuitBreaker.resetAfter, "guardrails.circuitBreaker.resetAfter"),
        };
  checkFreezeWindows(settings.freezeWindows ?? []);
  if (
    settings.maxConcurrent !== undefined &&
    !(Number.isInteger(settings.maxConcurrent) && settings.maxConcurrent >= 1)
  ) {
    throw new BadInputError(`guardrails.maxConcurrent: ${settings.maxConcurrent} is not a whole number ≥ 1`, {
      path: "guardrails.maxConcurrent",
    });
  }
  const killSwitchEnv = settings.killSwitchEnv ?? "SELFHEAL_KILL_SWITCH";
  const cap = settings.replicaCap;

  const replicaCap = (service: string): number | undefined =>
    typeof cap === "number" ? cap : (cap?.services?.[service] ?? cap?.default);

  const killSwitch = async (): Promise<string | undefined> => {
    if (settings.killSwitch === true) return "the kill switch is on in the configuration";
    const fromEnv = env[killSwitchEnv]?.trim().toLowerCase();
    if (fromEnv === "1" || fromEnv === "true" || fromEnv === "on") return `${killSwitchEnv}=${fromEnv}`;
    if (settings.killSwitchFile !== undefined) {
      try {
        await access(settings.killSwitchFile);
        return `kill switch file ${settings.killSwitchFile} exists`;
      } catch {
        // No file: the switch is off.
      }
    }
    return undefined;
  };

  const checkTarget = (incident: Incident, decision: Decision): string | undefined => {
    if (!serviceName.test(incident.service) || wildcard.test(incident.service)) {
      return `service "${incident.service}" is empty or a wildcard`;
    }
    for (const key of ["service", "target", "workload", "namespace"] as const) {
      const value = decision.params[key];
      if (value === undefined) continue;
      if (typeof value !== "string" || value.trim() === "" || wildcard.test(value)) {
        return `params.${key} ${JSON.stringify(value)} is empty or a wildcard`;
      }
    }
    return undefined;
  };

  const checkReplicas = (incident: Incident, decision: Decision): GuardrailVerdict => {
    const replicas = decision.params.replicas;
    if (replicas === undefined) return allowed;
    if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 1) {
      return {
        allowed: false,
        reason: "invalid_target",
        detail: `params.replicas ${JSON.stringify(replicas)} is not a whole number ≥ 1`,
      };
    }
    const limit = replicaCap(incident.service);
    if (limit !== undefined && replicas > limit) {
      return {
        allowed: false,
        reason: "replica_cap",
        detail: `${replicas} replicas asked, cap for ${incident.service} is ${limit}`,
      };
    }
    return allowed;
  };

  const frozen = (service: string, now: Date): string | undefined => {
    for (const window of settings.freezeWindows ?? []) {
      if (window.services !== undefined && !window.services.includes(service)) continue;
      const label = window.reason === undefined ? "" : ` (${window.reason})`;
      if ("from" in window) {
        if (now >= new Date(window.from) && now < new Date(window.to)) {
          return `change freeze ${window.from} to ${window.to}${label}`;
        }
        continue;
      }
      const day = dayNames[now.getUTCDay()] as (typeof dayNames)[number];
      const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
      if (
        window.days.includes(day) &&
        minute >= minutesOf(window.start ?? "00:00") &&
        minute < minutesOf(window.end ?? "24:00")
      ) {
        return `weekly change freeze on ${day} ${window.start ?? "00:00"}-${window.end ?? "24:00"} UTC${label}`;
      }
    }
    return undefined;
  };

  const circuit = async (service: string, now: Date): Promise<CircuitState> => {
    const closed: CircuitState = { open: false, failures: 0, announced: false, detail: "circuit closed" };
    if (breaker === undefined) return closed;
    const events = await store.listEvents({
      service,
      types: ["verification.failed", "circuit.reset", "circuit.opened"],
    });
    let failures = 0;
    let announced = false;
    let lastFailure: string | undefined;
    for (const event of events) {
      if (event.type === "circuit.reset") {
        failures = 0;
        announced = false;
      } else if (event.type === "circuit.opened") announced = true;
      else {
        failures++;
        lastFailure = event.at;
      }
    }
    if (failures < breaker.failures || lastFailure === undefined) return { ...closed, failures };
    if (
      breaker.resetAfterMs !== undefined &&
      now.getTime() - Date.parse(lastFailure) >= breaker.resetAfterMs
    ) {
      return { ...closed, failures };
    }
    const detail = `circuit open for ${service}: ${failures} failed verification(s) since the last reset (threshold ${breaker.failures})`;
    return { open: true, failures, announced, detail };
  };

  const dryRun = settings.dryRun ?? false;
  return {
    dryRun: dryRun === true,
    dryRunOf: (incident) => {
      if (typeof dryRun === "boolean") return dryRun ? "dry run: planned, not carried out" : undefined;
      const reason = dryRun(incident);
      return reason === false ? undefined : reason;
    },
    replicaCap,
    killSwitch,
    circuit,
    async check({ incident, decision, supported, now }) {
      const target = checkTarget(incident, decision);
      if (target !== undefined) return { allowed: false, reason: "invalid_target", detail: target };
      if (!supported) {
        return {
          allowed: false,
          reason: "unsupported_action",
          detail: `no remediator carries out "${decision.action}"`,
        };
      }
      const replicas = checkReplicas(incident, decision);
      if (!replicas.allowed) return replicas;
      const kill = await killSwitch();
      if (kill !== undefined) return { allowed: false, reason: "kill_switch", detail: kill };
      const freeze = frozen(incident.service, now);
      if (freeze !== undefined) return { allowed: false, reason: "change_freeze", detail: freeze };
      const breakerState = await circuit(incident.service, now);
      if (breakerState.open) return { allowed: false, reason: "circuit_open", detail: breakerState.detail };

      const longest = Math.max(rateLimit?.windowMs ?? 0, cooldownMs);
      const since = new Date(now.getTime() - longest).toISOString();
      const recent = (await store.listActions({ service: incident.service, since })).filter(
        (action) => action.outcome !== "dry_run" && action.incidentId !== incident.id,
      );
      if (rateLimit !== undefined) {
        const windowStart = now.getTime() - rateLimit.windowMs;
        const count = recent.filter((action) => Date.parse(action.at) > windowStart).length;
        if (count >= rateLimit.max) {
          return {
            allowed: false,
            reason: "rate_limit",
            detail: `${count} actions on ${incident.service} in the last ${formatMs(rateLimit.windowMs)} (limit ${rateLimit.max})`,
          };
        }
      }
      const last = recent[0];
      if (cooldownMs > 0 && last !== undefined && now.getTime() - Date.parse(last.at) < cooldownMs) {
        return {
          allowed: false,
          reason: "cooldown",
          detail: `last action on ${incident.service} started at ${last.at}; cooldown ${formatMs(cooldownMs)}`,
        };
      }
      const inFlight = await store.listIncidents({ states: [...actingStates] });
      const others = inFlight.filter((other) => other.id !== incident.id).length;
      if (others >= maxConcurrent) {
        return {
          allowed: false,
          reason: "concurrency",
          detail: `${others} actions under way (limit ${maxConcurrent})`,
        };
      }
      return allowed;
    },
  };
}

/** Refuse a freeze window that cannot be read, rather than silently never freezing. */
function checkFreezeWindows(windows: readonly FreezeWindow[]): void {
  windows.forEach((window, index) => {
    const path = `guardrails.freezeWindows[${index}]`;
    if ("from" in window) {
      for (const key of ["from", "to"] as const) {
        if (Number.isNaN(Date.parse(window[key]))) {
          throw new BadInputError(`${path}.${key}: "${window[key]}" is not an RFC 3339 time`, {
            path: `${path}.${key}`,
          });
        }
      }
      if (Date.parse(window.from) >= Date.parse(window.to)) {
        throw new BadInputError(`${path}: from (${window.from}) is not before to (${window.to})`, { path });
      }
      return;
    }
    const unknownDay = window.days.find((day) => !dayNames.includes(day));
    if (window.days.length === 0 || unknownDay !== undefined) {
      throw new BadInputError(
        `${path}.days: want some of ${dayNames.join(", ")}${unknownDay === undefined ? "" : `, got "${unknownDay}"`}`,
        {
          path: `${path}.days`,
        },
      );
    }
    for (const key of ["start", "end"] as const) {
      const time = window[key];
      if (time !== undefined && !/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/.test(time)) {
        throw new BadInputError(`${path}.${key}: "${time}" is not a time of day HH:MM`, {
          path: `${path}.${key}`,
        });
      }
    }
  });
}

function minutesOf(time: string): number {
  const match = /^(\d{1,2}):(\d{2})$/.exec(time);
  if (match === null) return 0;
  return Number(match[1]) * 60 + Number(match[2]);
}
