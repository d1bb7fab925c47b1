/**
 * Helpers shared by selfheal's own packages (`@selfheal/core/internal`). Not part of the public
 * API: no stability promise, they may change or go in any release. Build on the main entry point
 * (`@selfheal/core`) instead; if you need one of these, copy it or ask for it to be made public.
 *
 * @packageDocumentation
 */

export { describeIssues, jsonObjectOf, jsonPath, preview } from "./http/payload-issues.js";
export { eventId, shortHash, slug } from "./runtime/ids.js";
export { StoreProjection, type StoreRecord } from "./stores/projection.js";
export { type IngestWalk, type IngestWalkState, walkIngest } from "./stores/walk-ingest.js";
export {
  Mutex,
  Semaphore,
  sleep,
  timeLimitedSignal,
  withSignalTimeLimit,
  withTimeout,
} from "./util/async.js";
export { freePort } from "./util/free-port.js";
