import { z } from "zod";
import { ControllerConfig, GuardrailsConfig, PolicyConfig, StoreConfig } from "./decide-config.js";
import { RemediateConfig } from "./remediate-config.js";
import { ServicesConfig } from "./services-config.js";
import {
  EnrichConfig,
  HooksConfig,
  ListenConfig,
  NotifyConfig,
  SourcesConfig,
  TelemetryConfig,
  VerifyConfig,
} from "./sources-config.js";

/**
 * The whole `selfheal.yaml`. Every object is strict: an unknown key is an error, never ignored,
 * so a typo (`ratelimit`) cannot silently turn a guardrail off.
 */
export const SelfhealConfig = z
  .strictObject({
    listen: ListenConfig.default({ host: "0.0.0.0", port: 9090 }),
    sources: SourcesConfig.default({
      alertmanager: { path: "/webhook/alertmanager", serviceLabel: "service" },
    }),
    enrich: EnrichConfig.default({ gitopsDeployment: true, argocdStatus: false }),
    policy: PolicyConfig,
    remediate: RemediateConfig.default({}),
    verify: VerifyConfig.default({}),
    guardrails: GuardrailsConfig.default({}),
    store: StoreConfig.default({ file: { dir: ".selfheal", fsync: true } }),
    notify: NotifyConfig.default({}),
    hooks: HooksConfig.default({}),
    services: ServicesConfig.default({ defaults: {}, groups: [], byName: {} }).describe(
      "Settings per service and per group of services, and how far automation goes for each (observe, propose, act).",
    ),
    telemetry: TelemetryConfig.default({}),
    controller: ControllerConfig.default({ logLevel: "info" }),
  })
  .superRefine((config, context) => {
    // A service that proposes needs a forge with change requests, its own or remediate.gitops's.
    const mainForge = config.remediate.gitops?.forge;
    const check = (
      settings: {
        readonly policy?: unknown;
        readonly mode?: string | undefined;
        readonly forge?: { readonly git?: unknown } | undefined;
      },
      path: (string | number)[],
    ) => {
      const forge = settings.forge ?? mainForge;
      if (settings.mode === "propose" && (forge === undefined || forge.git !== undefined)) {
        context.addIssue({
          code: "custom",
          path: [...path, "mode"],
          message:
            "propose opens change requests: it needs forge.github or forge.gitlab (here or under remediate.gitops); plain git can only act or observe",
        });
      }
      if (settings.policy !== undefined && config.policy.builtin === undefined) {
        context.addIssue({
          code: "custom",
          path: [...path, "policy"],
          message:
            "per-service policy settings are for the built-in policy: set policy.builtin (with OPA, decide per service in Rego)",
        });
      }
    };
    check(config.services.defaults, ["services", "defaults"]);
    for (const [index, group] of config.services.groups.entries())
      check(group, ["services", "groups", index]);
    for (const [name, settings] of Object.entries(config.services.byName))
      check(settings, ["services", "byName", name]);
  })
  .describe("Configuration of the selfheal controller (selfheal run --config selfheal.yaml).");

/** A parsed, validated `selfheal.yaml`, defaults filled in. */
export type SelfhealConfig = z.infer<typeof SelfhealConfig>;

/** The JSON Schema of `selfheal.yaml`, for editors (`# yaml-language-server: $schema=...`). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(SelfhealConfig, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}
