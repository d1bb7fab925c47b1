export { auditChain, type ChainStage, type ChainStep } from "./audit/audit-chain.js";
export {
  type AuditIncident,
  type AuditOutcome,
  type AuditQuery,
  type AuditReport,
  auditReport,
  outcomeOf,
  type ServiceSummary,
} from "./audit/audit-report.js";
export { runCli } from "./cli.js";
export { type CliIo, exitCodes, processIo, UsageError } from "./commands/cli-io.js";
export { ConfigError, type ConfigProblem, formatProblem } from "./config/config-error.js";
export { type LoadConfigOptions, loadConfig, parseConfig } from "./config/load-config.js";
export { configJsonSchema, SelfhealConfig } from "./config/selfheal-config.js";
export { type WiredController, type WireOptions, wireController } from "./wire/wire-controller.js";
