import { describeError, ForgeError, type ForgeErrorKind } from "@selfheal/core";
import { z } from "zod";

/** What an Octokit `RequestError` carries that we read (duck-typed: no dependency on its class). */
const OctokitRequestError = z.object({
  status: z.number(),
  message: z.string(),
  request: z.object({ url: z.string() }).optional(),
  response: z
    .object({
      url: z.string().optional(),
      headers: z.record(z.string(), z.unknown()),
      data: z.unknown(),
    })
    .optional(),
});

/** What an Octokit `GraphqlResponseError` carries: a 200 answer with `errors`. */
const GraphqlError = z.object({
  name: z.literal("GraphqlResponseError"),
  errors: z.array(z.object({ type: z.string().optional(), message: z.string() })).min(1),
});

const GithubErrorBody = z.object({
  message: z.string().optional(),
  errors: z.array(z.object({ message: z.string().optional(), code: z.string().optional() })).optional(),
});

/** Where a failed request was made: names the operation in the error. */
export interface FailureContext {
  readonly operation: string;
  /** Statuses that mean "someone else changed it" for this operation (`405`, `409` on merge). */
  readonly conflictStatuses?: readonly number[];
  /**
   * 422 messages that mean a conflict for this operation ("Reference already exists",
   * "Update is not a fast forward", "A pull request already exists").
   */
  readonly conflictMessages?: RegExp;
}

/** GraphQL error types with a kind of their own; any other type is `invalid`. */
const graphqlKinds: Readonly<Partial<Record<string, ForgeErrorKind>>> = {
  NOT_FOUND: "not_found",
  FORBIDDEN: "forbidden",
  RATE_LIMITED: "rate_limited",
};

/** GitHub asks to wait at least a minute after a secondary rate limit that gives no time. */
const defaultRateLimitWaitMs = 60_000;

/**
 * Turn anything an Octokit call threw into a `ForgeError`. The message holds GitHub's own
 * message (never a header); the cause keeps Octokit's error, whose `authorization` Octokit
 * redacts.
 */
export function toForgeError(error: unknown, context: FailureContext, now = Date.now()): ForgeError {
  if (error instanceof ForgeError) return error;
  const graphql = GraphqlError.safeParse(error);
  if (graphql.success) {
    const type = graphql.data.errors[0]?.type;
    const kind: ForgeErrorKind = (type === undefined ? undefined : graphqlKinds[type]) ?? "invalid";
    const messages = graphql.data.errors.map((item) => item.message).join("; ");
    return new ForgeError(`GitHub ${context.operation} failed: ${messages}`, {
      kind,
      adapter: "github",
      operation: context.operation,
      ...(kind === "rate_limited" ? { retryAfterMs: defaultRateLimitWaitMs } : {}),
      cause: error,
    });
  }
  const parsed = OctokitRequestError.safeParse(error);
  if (!parsed.success || (error instanceof Error && error.name === "AbortError")) {
    return new ForgeError(`GitHub ${context.operation} failed: ${describeError(error)}`, {
      kind: "unavailable",
      adapter: "github",
      operation: context.operation,
      cause: error,
    });
  }
  const { status, request, response } = parsed.data;
  const headers = response?.headers ?? {};
  const body = GithubErrorBody.safeParse(response?.data);
  const githubMessage = body.success
    ? [body.data.message, ...(body.data.errors ?? []).map((item) => item.message ?? item.code)]
        .filter((part) => part !== undefined && part !== "")
        .join(": ")
    : "";
  const detail = githubMessage === "" ? parsed.data.message : githubMessage;
  const rawUrl = response?.url ?? request?.url;
  const rateLimit = rateLimitWaitMs(status, headers, detail, now);
  const kind = kindFor(status, detail, rateLimit !== undefined, context);
  return new ForgeError(`GitHub ${context.operation} failed: ${status} ${detail}`, {
    kind,
    adapter: "github",
    operation: context.operation,
    status,
    ...(rawUrl === undefined ? {} : { url: rawUrl.replace(/[?#].*$/s, "") }),
    ...(rateLimit === undefined ? {} : { retryAfterMs: rateLimit }),
    cause: trimmedCause(error, status),
  });
}

/** The kind of a failed REST answer; `rateLimited` when it asked us to wait. */
function kindFor(
  status: number,
  detail: string,
  rateLimited: boolean,
  context: FailureContext,
): ForgeErrorKind {
  if (rateLimited) return "rate_limited";
  if (status === 0 || status >= 500) return "unavailable";
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 409 || context.conflictStatuses?.includes(status) === true) return "conflict";
  if (status === 422 && context.conflictMessages?.test(detail) === true) return "conflict";
  return "invalid";
}

/**
 * The part of Octokit's error worth keeping: the whole error holds the request (with its
 * AbortSignal), which test runners and loggers cannot serialize, and nothing a reader needs.
 */
function trimmedCause(error: unknown, status: number): Error {
  const cause = new Error(describeError(error));
  cause.name = error instanceof Error ? error.name : "RequestError";
  Object.assign(cause, { status });
  return cause;
}

/**
 * How long GitHub asks us to wait, when the answer is a rate limit: `retry-after` seconds, else
 * until `x-ratelimit-reset` (epoch seconds) when no request is left, else a minute for a
 * secondary limit that names no time. `undefined` when the answer is not a rate limit.
 */
function rateLimitWaitMs(
  status: number,
  headers: Record<string, unknown>,
  message: string,
  now: number,
): number | undefined {
  if (status !== 403 && status !== 429) return undefined;
  const retryAfter = numberHeader(headers["retry-after"]);
  if (retryAfter !== undefined) return Math.max(0, retryAfter * 1000);
  const remaining = numberHeader(headers["x-ratelimit-remaining"]);
  const reset = numberHeader(headers["x-ratelimit-reset"]);
  if (remaining === 0) return reset === undefined ? defaultRateLimitWaitMs : Math.max(0, reset * 1000 - now);
  if (status === 429 || /rate limit/i.test(message)) return defaultRateLimitWaitMs;
  return undefined;
}

function numberHeader(value: unknown): number | undefined {
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim() : "";
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined;
  return Number(text);
}
