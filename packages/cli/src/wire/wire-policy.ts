import { opaPolicy } from "@selfheal/adapter-opa";
import { BadInputError, builtinPolicy, type Policy, toMs } from "@selfheal/core";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { definedOnly } from "./defined-only.js";

/** The policy of `policy`, and how to release it. */
export function wirePolicy(config: SelfhealConfig["policy"]): { policy: Policy; close(): Promise<void> } {
  if (config.opa !== undefined) {
    const opa = config.opa;
    const policy = opaPolicy({
      url: opa.url,
      path: opa.path,
      timeoutMs: toMs(opa.timeout, "policy.opa.timeout"),
      ...(opa.token === undefined ? {} : { token: opa.token }),
      ...(opa.batch === undefined ? {} : { batch: { path: opa.batch } }),
    });
    return { policy, close: () => policy.close() };
  }
  const builtin = config.builtin;
  if (builtin === undefined)
    throw new BadInputError("policy: expected one of builtin, opa", { path: "policy" });
  const { rollbackWindow, ...rest } = builtin;
  const policy = builtinPolicy(
    definedOnly({
      ...rest,
      rollbackWindowMs:
        rollbackWindow === undefined ? undefined : toMs(rollbackWindow, "policy.builtin.rollbackWindow"),
    }),
  );
  return { policy, close: async () => {} };
}
