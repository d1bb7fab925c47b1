export { runCli } from "./cli.js";
export { type CliIo, exitCodes, processIo, UsageError } from "./commands/cli-io.js";
export { ConfigError, type ConfigProblem, formatProblem } from "./config/config-error.js";
export { type LoadConfigOptions, loadConfig, parseConfig } from "./config/load-config.js";
export { configJsonSchema, SelfhealConfig } from "./config/selfheal-config.js";
export { type WiredController, type WireOptions, wireController } from "./wire/wire-controller.js";
