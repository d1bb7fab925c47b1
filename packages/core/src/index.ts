export * from "./errors/selfheal-error.js";
export * from "./runtime/fold.js";
export * from "./runtime/ids.js";
export * from "./spec/index.js";
export * from "./stores/memory-store.js";
export { StoreProjection, type StoreRecord } from "./stores/projection.js";
export * from "./util/logger.js";
export * from "./util/redact.js";
