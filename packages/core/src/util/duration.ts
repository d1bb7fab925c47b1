import { BadInputError } from "../errors/selfheal-error.js";

/** A length of time: milliseconds, or a string such as `"500ms"`, `"30s"`, `"30m"`, `"2h"`, `"1h30m"`. */
export type Duration = number | string;

const unitMs: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const durationPattern = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const partPattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/** Milliseconds of a duration. Throws a `BadInputError` naming `where` for anything else. */
export function toMs(duration: Duration, where = "duration"): number {
  if (typeof duration === "number") {
    if (Number.isFinite(duration) && duration >= 0) return duration;
    throw new BadInputError(`${where}: ${duration} is not a duration (want milliseconds ≥ 0)`, {
      path: where,
    });
  }
  const text = duration.trim();
  if (!durationPattern.test(text)) {
    throw new BadInputError(`${where}: "${duration}" is not a duration (want e.g. "30s", "30m", "1h30m")`, {
      path: where,
    });
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(partPattern))
    total += Number(amount) * (unitMs[unit as string] ?? 0);
  return total;
}

/** A duration for people: `1m30s`, `450ms`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return [h ? `${h}h` : "", m ? `${m}m` : "", s || (!h && !m) ? `${s}s` : ""].join("");
}
