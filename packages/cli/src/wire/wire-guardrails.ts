import { resolve } from "node:path";
import type { GuardrailSettings } from "@selfheal/core";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { definedOnly } from "./defined-only.js";

/** The guardrail settings of `guardrails`; a relative kill-switch file is taken from `baseDir`. */
export function wireGuardrails(
  config: SelfhealConfig["guardrails"],
  baseDir: string,
  overrides: { readonly dryRun?: GuardrailSettings["dryRun"] } = {},
): GuardrailSettings {
  const { killSwitchFile, freezeWindows, circuitBreaker, replicaCap, dryRun, ...rest } = config;
  return definedOnly({
    ...rest,
    circuitBreaker:
      circuitBreaker === undefined || circuitBreaker === false ? circuitBreaker : definedOnly(circuitBreaker),
    replicaCap:
      replicaCap === undefined || typeof replicaCap === "number" ? replicaCap : definedOnly(replicaCap),
    killSwitchFile: killSwitchFile === undefined ? undefined : resolve(baseDir, killSwitchFile),
    freezeWindows: freezeWindows?.map((window) => definedOnly(window)),
    dryRun: overrides.dryRun ?? dryRun,
  });
}
