export * from "./github-forge.js";
export * from "./github-forge-settings.js";
