export * from "./alertmanager-silence-hook.js";
export * from "./alertmanager-silences.js";
export * from "./alertmanager-webhook.js";
export * from "./default-queries.js";
export type { HttpAuth, HttpConnectionSettings } from "./http-client.js";
export * from "./prometheus-metrics.js";
export * from "./prometheus-recovery.js";
export {
  compilePromql,
  escapePromqlString,
  escapeRegex,
  type PromqlTemplate,
  type PromqlValues,
} from "./promql-template.js";
export * from "./webhook-payload.js";
