export * from "./git-http-server.js";
