import { z } from "zod";
import { BuiltinPolicyConfig } from "./decide-config.js";
import { ForgeConfig, ImageTargetConfig, LocateConfig, RepoConfig } from "./remediate-config.js";
import { StringMap } from "./schema-parts.js";

/**
 * How far automation goes for a service: `observe` decides and records what would have been
 * done (a plan, no change, no notification unless `notify: true`); `propose` opens change
 * requests only; `act` commits directly where the forge allows it.
 */
export const ServiceMode = z.enum(["observe", "propose", "act"]);
export type ServiceMode = z.infer<typeof ServiceMode>;

/** Settings a service (or a group of services) may override; unset keys keep the outer value. */
export const ServiceSettings = z.strictObject({
  mode: ServiceMode.optional().describe("observe, propose or act."),
  notify: z.boolean().optional().describe("In observe mode, send notifications anyway. @default false"),
  repo: RepoConfig.optional().describe(
    "Another config repository for this service (its own url, branch, dir, token).",
  ),
  forge: ForgeConfig.optional().describe("Where this service's change requests are opened."),
  locate: LocateConfig.optional(),
  image: ImageTargetConfig.optional(),
  maxReplicas: z.number().int().positive().optional().describe("Most replicas a scale-up may ask for."),
  argocdApp: z
    .string()
    .min(1)
    .optional()
    .describe(
      "This service's Argo CD application ({service}, {alertname} replaced), instead of verify.argocd.app.",
    ),
  queries: z
    .record(z.string(), z.string().nullable())
    .optional()
    .describe("PromQL per metric, merged over enrich.prometheus.queries for this service; null drops one."),
  policy: BuiltinPolicyConfig.optional().describe(
    "Built-in policy settings for this service, merged over policy.builtin (needs policy.builtin).",
  ),
});
export type ServiceSettings = z.infer<typeof ServiceSettings>;

/**
 * `services`: settings per service and per group of services. For a service, `defaults` apply
 * first, then every group whose `match` labels the alert carries (in order), then the service's
 * own entry under `byName`; each overrides only the keys it sets.
 */
export const ServicesConfig = z.strictObject({
  defaults: ServiceSettings.default({}).describe(
    "Settings of every service. Without a mode, remediate.gitops decides (change requests when its forge has them, else direct commits).",
  ),
  groups: z
    .array(
      ServiceSettings.extend({
        match: StringMap.refine(
          (labels) => Object.keys(labels).length > 0,
          "match at least one label",
        ).describe("Alert labels that all must be equal for the group to apply (team, env, ...)."),
      }),
    )
    .default([])
    .describe("Groups of services chosen by label selector, applied in order."),
  byName: z.record(z.string(), ServiceSettings).default({}).describe("Settings of one service, by name."),
  optIn: z
    .strictObject({
      label: z.string().min(1).describe('The label an alert rule sets to opt in ("selfheal").'),
      value: z.string().min(1).default("enabled"),
      otherwise: ServiceMode.default("observe").describe(
        "The most an alert without the label may do; the label never raises a service above its configured mode.",
      ),
    })
    .optional()
    .describe("Opt-in per alert rule: alerts without the label are held to `otherwise`."),
});
export type ServicesConfig = z.infer<typeof ServicesConfig>;
