import { dirname, resolve } from "node:path";
import { describeError, SelfHealError } from "@selfheal/core";
import { ConfigError } from "../config/config-error.js";
import { loadConfig } from "../config/load-config.js";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { type WiredController, type WireOptions, wireController } from "../wire/wire-controller.js";
import type { CliIo } from "./cli-io.js";

/** A loaded config and where it came from. */
export interface CommandConfig {
  readonly config: SelfhealConfig;
  /** The file as given (for messages). */
  readonly file: string;
  /** Its folder: relative paths of the config are taken from there. */
  readonly baseDir: string;
}

/**
 * The config file of `--config`, else `$SELFHEAL_CONFIG`, else `selfheal.yaml`. Unset `${VAR}`s
 * of `unusedSections` (the sections the command does not read) are not demanded.
 */
export async function commandConfig(
  io: CliIo,
  option: string | undefined,
  unusedSections: readonly string[] = [],
): Promise<CommandConfig> {
  const file = option ?? io.env.SELFHEAL_CONFIG ?? "selfheal.yaml";
  const absolute = resolve(io.cwd, file);
  const config = await loadConfig(absolute, { env: io.env, unusedSections }).catch((error: unknown) => {
    // Name the file as the user wrote it, not as resolved.
    if (error instanceof ConfigError)
      throw new ConfigError(
        file,
        error.problems.map((p) => ({ ...p, file })),
      );
    throw error;
  });
  return { config, file, baseDir: dirname(absolute) };
}

/**
 * Wire the config's adapters. A factory refusing its settings (a forge without change requests
 * in `change_request` mode) is a config problem: exit code 2, not 1.
 */
export async function wireCommand(
  loaded: CommandConfig,
  options: Omit<WireOptions, "baseDir">,
): Promise<WiredController> {
  try {
    return await wireController(loaded.config, { ...options, baseDir: loaded.baseDir });
  } catch (error) {
    if (!SelfHealError.isInstance(error) || error.retryable) throw error;
    throw new ConfigError(
      loaded.file,
      [{ file: loaded.file, line: 1, column: 1, path: "", message: describeError(error) }],
      {
        cause: error,
      },
    );
  }
}

/** What `audit` does not read: everything but the store. */
export const unusedByAudit: readonly string[] = [
  "listen",
  "sources",
  "enrich",
  "policy",
  "remediate",
  "verify",
  "guardrails",
  "notify",
  "hooks",
  "telemetry",
  "controller",
  "services",
];

/** What `replay` does not read: it sends nothing, serves nothing and keeps a memory store. */
export const unusedByReplay: readonly string[] = [
  "listen",
  "verify",
  "notify",
  "hooks",
  "telemetry",
  "store",
];
