import { z } from "zod";
import { DurationConfig, exactlyOne, HttpUrl } from "./schema-parts.js";

/** Settings of the built-in policy (the seed's rules); every threshold is exclusive. */
export const BuiltinPolicyConfig = z.strictObject({
  errorRateThreshold: z.number().min(0).max(1).optional().describe("@default 0.05"),
  restartThreshold: z
    .union([z.number().nonnegative(), z.literal(false)])
    .optional()
    .describe("false: restarts are no condition to roll back. @default 3"),
  cpuThreshold: z.number().min(0).optional().describe("@default 0.8"),
  maxRollbacks: z.number().int().nonnegative().optional().describe("@default 2"),
  rollbackWindow: DurationConfig.optional().describe('@default "30m"'),
  scaleStep: z.number().int().positive().optional().describe("@default 1"),
});

/** `policy`: what decides. Exactly one of `builtin` and `opa`. */
export const PolicyConfig = z
  .strictObject({
    builtin: BuiltinPolicyConfig.optional().describe("The built-in TypeScript policy (the seed's rules)."),
    opa: z
      .strictObject({
        url: HttpUrl.describe("OPA base URL."),
        path: z.string().min(1).default("selfheal/decision").describe("Data API path of the decision."),
        token: z.string().min(1).optional().describe("Bearer token; keep it in an environment variable."),
        timeout: DurationConfig.default("2s").describe("Time limit of one evaluation."),
        batch: z
          .string()
          .min(1)
          .optional()
          .describe(
            "Data API path of a rule deciding a list of inputs at once (the shipped policy's selfheal/decisions): decisions that wait while a request is out go together in the next one. Absent: one request per decision.",
          ),
      })
      .optional()
      .describe("Open Policy Agent over its REST Data API; fails closed."),
    timeout: DurationConfig.default("5s").describe(
      "Past this a decision counts as failed (no action, escalate).",
    ),
  })
  .superRefine(exactlyOne(["builtin", "opa"]));

const FreezeCommon = {
  reason: z.string().optional(),
  services: z.array(z.string().min(1)).optional().describe("Only these services; absent means all."),
};
const clock = z.string().regex(/^(?:[01]\d|2[0-4]):[0-5]\d$/, "expected a time of day HH:MM (UTC)");

/** One change-freeze window: a one-off period, or weekly days and hours. */
export const FreezeWindowConfig = z.union([
  z.strictObject({
    from: z.iso.datetime({ offset: true }).describe("Start (RFC 3339)."),
    to: z.iso.datetime({ offset: true }).describe("End (RFC 3339)."),
    ...FreezeCommon,
  }),
  z.strictObject({
    days: z.array(z.enum(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])).min(1),
    start: clock.optional(),
    end: clock.optional(),
    ...FreezeCommon,
  }),
]);

/** `guardrails`: limits applied after every decision (the settings `createController` takes). */
export const GuardrailsConfig = z.strictObject({
  rateLimit: z
    .union([
      z.literal(false),
      z.strictObject({ max: z.number().int().nonnegative(), window: DurationConfig }),
    ])
    .optional()
    .describe('Actions per service per window; false turns it off. @default { max: 2, window: "30m" }'),
  cooldown: DurationConfig.optional().describe('@default "5m"'),
  maxConcurrent: z.number().int().positive().optional().describe("Actions under way at once. @default 5"),
  circuitBreaker: z
    .union([
      z.literal(false),
      z.strictObject({ failures: z.number().int().positive(), resetAfter: DurationConfig.optional() }),
    ])
    .optional()
    .describe("@default { failures: 1 }"),
  killSwitch: z.boolean().optional().describe("Stop all automated side effects. @default false"),
  killSwitchFile: z.string().min(1).optional().describe("A file whose existence turns the kill switch on."),
  killSwitchEnv: z.string().min(1).optional().describe('@default "SELFHEAL_KILL_SWITCH"'),
  freezeWindows: z.array(FreezeWindowConfig).optional(),
  replicaCap: z
    .union([
      z.number().int().positive(),
      z.strictObject({
        default: z.number().int().positive().optional(),
        services: z.record(z.string(), z.number().int().positive()).optional(),
      }),
    ])
    .optional(),
  dryRun: z.boolean().optional().describe("Plan every action, carry out none. @default false"),
});

/** `store`: where state and the audit trail live. Exactly one of `file` and `postgres`. */
export const StoreConfig = z
  .strictObject({
    file: z
      .strictObject({
        dir: z.string().min(1).default(".selfheal").describe("Folder, relative to the config file."),
        fsync: z.boolean().default(true),
      })
      .optional(),
    postgres: z
      .strictObject({
        connectionString: z.string().min(1).describe("postgres://...; keep it in an environment variable."),
        schema: z.string().min(1).default("selfheal"),
        poolSize: z.number().int().positive().default(10),
        statementTimeout: DurationConfig.optional(),
      })
      .optional()
      .describe("A shared store for several controller replicas."),
  })
  .superRefine(exactlyOne(["file", "postgres"]));

/** `controller`: how incidents are keyed and timed. */
export const ControllerConfig = z.strictObject({
  instanceId: z
    .string()
    .min(1)
    .optional()
    .describe("Name of this replica in the audit trail, such as its pod's name. @default hostname:pid"),
  incidentKey: z.array(z.string().min(1)).min(1).optional().describe('@default ["service", "alertname"]'),
  historyWindow: DurationConfig.optional().describe('@default "24h"'),
  mergeTimeout: DurationConfig.optional().describe('@default "24h"'),
  maxParallelDecisions: z.number().int().positive().optional().describe("@default 16"),
  maxPendingDeliveries: z.number().int().positive().optional().describe("@default 1000"),
  claimTtl: DurationConfig.optional().describe(
    'With a store shared by several replicas (postgres): how long a claim on an incident lasts unless renewed; a dead replica\'s incidents are taken over after it. @default "30s"',
  ),
  decisionRetry: z
    .strictObject({
      initialDelay: DurationConfig.optional().describe('@default "5s"'),
      maxDelay: DurationConfig.optional().describe('@default "5m"'),
      giveUpAfter: DurationConfig.optional().describe('@default "1h"'),
    })
    .optional()
    .describe(
      "A decision that came to nothing because a dependency failed (Prometheus, OPA) is made again after initialDelay, doubling up to maxDelay, while the alert fires; giveUpAfter the incident opened it is escalated with the cause.",
    ),
  logLevel: z.enum(["debug", "info", "warn", "error"]).default("info"),
});
