export * from "./audit/audit-chain.js";
export * from "./audit/audit-report.js";
export * from "./authoring/define.js";
export * from "./errors/selfheal-error.js";
export * from "./http/request-listener.js";
export { type ServerTimeouts, webhookServerOptions } from "./http/server-timeouts.js";
export * from "./notify/dispatch-notifications.js";
export * from "./notify/slack-notifier.js";
export * from "./notify/webhook-notifier.js";
export * from "./policy/builtin-policy.js";
export * from "./runtime/controller.js";
export * from "./runtime/fold.js";
export * from "./runtime/guardrails.js";
export { idempotencyKeyFor, incidentIdFor } from "./runtime/ids.js";
export { decisionOf, type PolicyOutcome, runPolicy } from "./runtime/run-policy.js";
export * from "./spec/index.js";
export { type ActionChange, actionChange } from "./stores/action-change.js";
export * from "./stores/file-store.js";
export * from "./stores/memory-store.js";
export { readFileStore } from "./stores/read-file-store.js";
export {
  incidentIdGenerator,
  incidentTraceContext,
  incidentTraceId,
  type SpanIdGenerator,
} from "./telemetry/incident-trace.js";
export * from "./telemetry/instruments.js";
export * from "./util/duration.js";
export * from "./util/logger.js";
export * from "./util/redact.js";
