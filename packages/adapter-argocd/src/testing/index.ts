export * from "./argocd-swagger-checker.js";
