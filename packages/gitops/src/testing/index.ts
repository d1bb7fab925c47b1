export * from "./git-http-server.js";
export * from "./local-forge.js";
