import type { Signal } from "../spec/signal.js";
import type { RejectedItem, SignalParseResult } from "../spec/signal-source.js";
import { redact } from "../util/redact.js";

/**
 * `parse`'s answer in one shape: sources written before `rejected` existed return a plain list.
 * Rejection reasons are redacted here, once, since they are both stored and answered.
 */
export function normalizeParseResult(result: Signal[] | SignalParseResult): SignalParseResult {
  if (Array.isArray(result)) return { signals: result, rejected: [] };
  return {
    signals: result.signals,
    rejected: result.rejected.map((item) => ({ ...item, reason: redact(item.reason) })),
  };
}

/** Most rejections listed in a 200 answer: a huge notification must not make a huge answer. */
const maxListedRejections = 20;

/**
 * The body of a 200 answer: `{"status":"accepted","signals":N}`, plus `rejected` and the first
 * `rejections` (index, path, reason) when some items of the body were rejected.
 */
export function acceptedBody(accepted: number, rejected: readonly RejectedItem[]): string {
  if (rejected.length === 0) return JSON.stringify({ status: "accepted", signals: accepted });
  return JSON.stringify({
    status: "accepted",
    signals: accepted,
    rejected: rejected.length,
    rejections: rejected
      .slice(0, maxListedRejections)
      .map((item) => ({ index: item.index, path: item.path, reason: item.reason })),
  });
}
