export * from "./argocd-application-view.js";
export * from "./loop-environment.js";
export * from "./sample-service.js";
export * from "./sample-service-process.js";
export * from "./sync-agent.js";
