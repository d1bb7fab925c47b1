export * from "./alertmanager-webhook.js";
export * from "./webhook-payload.js";
