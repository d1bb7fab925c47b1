export * from "./argocd-application.js";
export * from "./argocd-client.js";
export * from "./argocd-error.js";
export * from "./argocd-refresh.js";
export * from "./argocd-status.js";
export * from "./argocd-sync.js";
export type { ArgocdAppName, ArgocdTarget } from "./argocd-target.js";
export type { ArgocdConnection } from "./argocd-transport.js";
export { judgeApplication, type SyncExpectation, type SyncJudgement } from "./sync-judgement.js";
