export { runGit } from "./git-command.js";
export * from "./git-http-server.js";
export * from "./local-forge.js";
export * from "./open-bare-repo.js";
export * from "./remediation-scenario.js";
