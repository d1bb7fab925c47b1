import { z } from "zod";
import { ControllerConfig, GuardrailsConfig, PolicyConfig, StoreConfig } from "./decide-config.js";
import { RemediateConfig } from "./remediate-config.js";
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
    telemetry: TelemetryConfig.default({}),
    controller: ControllerConfig.default({ logLevel: "info" }),
  })
  .describe("Configuration of the selfheal controller (selfheal run --config selfheal.yaml).");

/** A parsed, validated `selfheal.yaml`, defaults filled in. */
export type SelfhealConfig = z.infer<typeof SelfhealConfig>;

/** The JSON Schema of `selfheal.yaml`, for editors (`# yaml-language-server: $schema=...`). */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(SelfhealConfig, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}
