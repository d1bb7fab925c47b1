export type { GitLabForge } from "./gitlab-forge.js";
export { gitlabForge } from "./gitlab-forge.js";
export type { GitLabForgeSettings } from "./gitlab-forge-settings.js";
