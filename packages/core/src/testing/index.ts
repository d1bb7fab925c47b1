export * from "./contracts.js";
export * from "./fixtures.js";
export * from "./forge-contract.js";
export * from "./incident-fixtures.js";
export * from "./reference.js";
export * from "./secret-corpus.js";
export * from "./store-contract.js";
