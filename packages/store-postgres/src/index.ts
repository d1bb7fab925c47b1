export type { PostgresStoreSettings } from "./postgres-settings.js";
export { openPostgresStore, type PostgresStore, postgresStore } from "./postgres-store.js";
export type { QuarantinedVersion, QuarantineRegistry } from "./quarantine-registry.js";
export { StoreOutcomeUnknownError } from "./runner.js";
