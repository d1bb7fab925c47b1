export * from "./alertmanager-webhook.js";
