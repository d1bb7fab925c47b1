export { githubForge } from "./github-forge.js";
export type {
  GithubAppAuth,
  GithubClient,
  GithubForgeSettings,
  GithubTokenAuth,
} from "./github-forge-settings.js";
