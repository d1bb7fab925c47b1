import type { ForgeErrorKind } from "@selfheal/core";
import { z } from "zod";

/**
 * A GitLab error body. GitLab's Grape API answers `{"message": ...}` where the message is a
 * string (`"404 Project Not Found"`), an array of strings, or an object of validation errors
 * (`{"title": ["can't be blank"]}`), and some routes answer `{"error": "404 Not Found"}`
 * instead (contract, "Common rules").
 */
const GitLabErrorBody = z.object({
  message: z.union([z.string(), z.array(z.unknown()), z.record(z.string(), z.unknown())]).optional(),
  error: z.string().optional(),
  error_description: z.string().optional(),
});

/** Longest piece of an unparseable error body quoted in an error message. */
const maxQuotedBody = 200;

/** The message of a GitLab error body, flattened to one line; a short quote if it is not JSON. */
export function gitLabErrorMessage(body: string): string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    const text = body.replace(/\s+/g, " ").trim();
    return text.length > maxQuotedBody ? `${text.slice(0, maxQuotedBody)}…` : text;
  }
  const parsed = GitLabErrorBody.safeParse(json);
  if (!parsed.success) return "";
  const { message, error, error_description: description } = parsed.data;
  if (typeof message === "string") return message;
  if (Array.isArray(message)) return message.map(flatten).join("; ");
  if (message !== undefined) {
    return Object.entries(message)
      .map(([property, problems]) => `${property} ${flatten(problems)}`)
      .join("; ");
  }
  if (error !== undefined) return description === undefined ? error : `${error}: ${description}`;
  return "";
}

function flatten(value: unknown): string {
  if (Array.isArray(value)) return value.map(flatten).join(", ");
  if (typeof value === "string") return value;
  return JSON.stringify(value) ?? String(value);
}

/**
 * Messages of GitLab's 400 answers that mean "the repository is not as you expected" rather
 * than "your request is malformed". The commits API has no 409: a `create` of an existing
 * file, an `update` of a missing one, a stale `last_commit_id` and a branch that already
 * exists all come back as 400 with one of these texts (contract, "Create commit").
 */
const conflictMessage =
  /already exists|doesn't exist|does not exist|changed since you started editing|does not match|conflict/i;

/** Statuses of the merge endpoint that mean "not mergeable as you asked, re-read it" (contract, "Merge"). */
const mergeConflictStatuses = new Set([405, 406, 409, 422]);

/** The `ForgeError` kind for a GitLab answer with a non-2xx `status`. */
export function kindForStatus(status: number, message: string, operation: string): ForgeErrorKind {
  if (operation === "merge" || operation === "enableAutoMerge") {
    if (mergeConflictStatuses.has(status)) return "conflict";
  }
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 409 || status === 412) return "conflict";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "unavailable";
  if ((status === 400 || status === 422) && conflictMessage.test(message)) return "conflict";
  return "invalid";
}

/** Unix times (seconds) are larger than this; smaller `RateLimit-Reset` values are delays. */
const epochSecondsThreshold = 1_000_000_000;

/**
 * How long GitLab asks us to wait, from `Retry-After` (seconds or an HTTP date) or else
 * `RateLimit-Reset` (GitLab sends a Unix time in seconds), in milliseconds.
 */
export function retryAfterMs(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  now: number,
): number | undefined {
  const retryAfter = headerValue(headers, "retry-after");
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  const reset = Number(headerValue(headers, "ratelimit-reset"));
  if (Number.isFinite(reset) && reset >= 0) {
    return reset > epochSecondsThreshold ? Math.max(0, reset * 1000 - now) : Math.ceil(reset * 1000);
  }
  return undefined;
}

function headerValue(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  name: string,
): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first.trim() === "" ? undefined : first.trim();
}

/**
 * Network failures where the request certainly never reached GitLab (no connection was made),
 * so even a request that must not be repeated can be sent again.
 */
const notSentCodes = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Whether a transport error happened before anything was sent. */
export function neverSent(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && notSentCodes.has(code)) return true;
    current = current.cause;
  }
  return false;
}
