import type { z } from "zod";
import { BadInputError } from "../errors/selfheal-error.js";

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const invalidOptionPrefix = /^Invalid option: /;

/** The first zod issue as a JSON path (under `prefix`) and a sentence, noting how many more there are. */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[],
): { readonly path: string; readonly reason: string } {
  const [first, ...rest] = issues;
  const more = rest.length === 0 ? "" : ` (and ${rest.length} more problem${rest.length === 1 ? "" : "s"})`;
  if (first === undefined) return { path: jsonPath(prefix), reason: "invalid" };
  return { path: jsonPath([...prefix, ...first.path]), reason: `${describeIssue(first)}${more}` };
}

/** A zod issue as a sentence: what was expected, and what came instead (briefly). */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && issue.input === undefined)
    return `missing (expected ${issue.expected})`;
  if (issue.code === "invalid_type") return `expected ${issue.expected}, got ${preview(issue.input)}`;
  if (issue.code === "invalid_value" && issue.input !== undefined) {
    return `${issue.message.replace(invalidOptionPrefix, "")}, got ${preview(issue.input)}`;
  }
  return issue.message;
}

/** `["alerts", 2, "startsAt"]` → `alerts[2].startsAt`; odd keys in brackets: `labels["a.b"]`. */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && identifier.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** A short rendering of a received value for an error message. */
export function preview(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/**
 * `body` as a JSON object, or a `BadInputError` saying what `what` (`Alertmanager webhook
 * payload`) got instead.
 */
export function jsonObjectOf(
  body: unknown,
  what: string,
  context: { readonly adapter: string; readonly operation: string },
): Record<string, unknown> {
  if (typeof body === "object" && body !== null && !Array.isArray(body))
    return body as Record<string, unknown>;
  throw new BadInputError(
    `${what} must be a JSON object, got ${Array.isArray(body) ? "an array" : preview(body)}`,
    context,
  );
}
