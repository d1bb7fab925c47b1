import { describeChain, ForgeError } from "@selfheal/core";
import { sleep } from "@selfheal/core/internal";
import { type Dispatcher, request } from "undici";
import type { z } from "zod";
import { gitLabErrorMessage, kindForStatus, neverSent, retryAfterMs } from "./gitlab-errors.js";

/**
 * When a failed request may be sent again.
 * - `idempotent`: after any transient failure (connection error, timeout, 429, 5xx): sending
 *   it twice has the effect of sending it once.
 * - `once`: only when GitLab certainly did nothing (no connection was made, or 429). After a
 *   5xx or a dropped connection the outcome is unknown, and a second commit or comment could
 *   land twice: the caller gets `unavailable` and re-reads.
 */
export type RetryClass = "idempotent" | "once";

/** One call of the GitLab REST API. */
export interface GitLabCall<T> {
  /** The `GitForge` method, named in errors. */
  readonly operation: string;
  /** `HEAD` answers have no body: `schema` then checks the response headers (names lower-case). */
  readonly method: "GET" | "HEAD" | "POST" | "PUT";
  /** Path below `/api/v4`, every segment already URL-encoded. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: Readonly<Record<string, unknown>>;
  /** The fields of the answer we read. */
  readonly schema: z.ZodType<T>;
  readonly retry: RetryClass;
  readonly signal: AbortSignal;
}

/** What the client needs, resolved from the forge's settings. */
export interface GitLabClientConfig {
  /** `https://gitlab.example.com/api/v4`, no trailing slash. */
  readonly apiUrl: string;
  readonly token: string;
  readonly userAgent: string;
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly retryBaseDelayMs: number;
}

/** Shortest token scrubbed from messages by value. */
const minScrubbedTokenLength = 8;

/** Longest wait for a 429 we sit out ourselves; a longer one is handed to the caller. */
const maxRetryAfterMs = 60_000;

/** Calls GitLab: token header, time limit, bounded retries, GitLab errors as `ForgeError`s. */
export type GitLabClient = <T>(call: GitLabCall<T>) => Promise<T>;

/** A client bound to one GitLab instance and token. It keeps no state between calls. */
export function gitLabClient(config: GitLabClientConfig): GitLabClient {
  // GitLab never echoes the token, but a proxy might: scrub it whatever its shape, on top of
  // the core's redaction of known token formats. (A token too short to be real is left alone
  // rather than blanking every match of it in the message.)
  const scrub = (text: string): string =>
    config.token.length < minScrubbedTokenLength ? text : text.split(config.token).join("[REDACTED]");

  return async function call<T>(spec: GitLabCall<T>): Promise<T> {
    const url = `${config.apiUrl}${spec.path}${queryString(spec.query)}`;
    const context = { adapter: "gitlab", operation: spec.operation, url } as const;
    for (let attempt = 1; ; attempt++) {
      let failure: ForgeError;
      const outcome = await once(spec, url, config);
      if (outcome.type === "answer") {
        if (outcome.status >= 200 && outcome.status < 300) {
          return spec.method === "HEAD"
            ? checkAnswer(spec, outcome.headers, context)
            : parseAnswer(spec, outcome.body, context);
        }
        const message = scrub(gitLabErrorMessage(outcome.body));
        const kind = kindForStatus(outcome.status, message, spec.operation);
        const wait = kind === "rate_limited" ? retryAfterMs(outcome.headers, Date.now()) : undefined;
        failure = new ForgeError(
          `GitLab ${spec.operation}: ${spec.method} ${url} answered ${outcome.status}${message === "" ? "" : `: ${message}`}`,
          {
            ...context,
            kind,
            status: outcome.status,
            ...(wait === undefined ? {} : { retryAfterMs: wait }),
            cause: new Error(`GitLab ${outcome.status}${message === "" ? "" : `: ${message}`}`),
          },
        );
        // 429 means GitLab refused before doing anything, so any request may go again.
        const mayRetry = kind === "rate_limited" || (kind === "unavailable" && spec.retry === "idempotent");
        if (!mayRetry || attempt >= config.maxAttempts || (wait ?? 0) > maxRetryAfterMs) throw failure;
        await pause(wait ?? backoff(config, attempt), spec, failure);
        continue;
      }
      if (spec.signal.aborted) {
        throw new ForgeError(`GitLab ${spec.operation}: ${spec.method} ${url} cancelled`, {
          ...context,
          kind: "unavailable",
          retryable: false,
          cause: spec.signal.reason,
        });
      }
      const timedOut = outcome.timedOut;
      failure = new ForgeError(
        timedOut
          ? `GitLab ${spec.operation}: ${spec.method} ${url} did not answer within ${config.timeoutMs} ms`
          : `GitLab ${spec.operation}: ${spec.method} ${url} failed: ${scrub(describeChain(outcome.error))}`,
        { ...context, kind: "unavailable", cause: outcome.error },
      );
      const mayRetry = spec.retry === "idempotent" || (!timedOut && neverSent(outcome.error));
      if (!mayRetry || attempt >= config.maxAttempts) throw failure;
      await pause(backoff(config, attempt), spec, failure);
    }
  };
}

type Outcome =
  | {
      readonly type: "answer";
      readonly status: number;
      readonly headers: Readonly<Record<string, string | string[] | undefined>>;
      readonly body: string;
    }
  | { readonly type: "failed"; readonly error: unknown; readonly timedOut: boolean };

async function once<T>(spec: GitLabCall<T>, url: string, config: GitLabClientConfig): Promise<Outcome> {
  const timeout = AbortSignal.timeout(config.timeoutMs);
  const signal = AbortSignal.any([spec.signal, timeout]);
  const headers: Record<string, string> = {
    "private-token": config.token,
    "user-agent": config.userAgent,
    accept: "application/json",
  };
  if (spec.body !== undefined) headers["content-type"] = "application/json";
  try {
    const response = await request(url, {
      method: spec.method,
      headers,
      ...(spec.body === undefined ? {} : { body: JSON.stringify(spec.body) }),
      dispatcher: config.dispatcher,
      signal,
    });
    const body = await response.body.text();
    return { type: "answer", status: response.statusCode, headers: response.headers, body };
  } catch (error) {
    return { type: "failed", error, timedOut: timeout.aborted && !spec.signal.aborted };
  }
}

function parseAnswer<T>(
  spec: GitLabCall<T>,
  body: string,
  context: { adapter: string; operation: string; url: string },
): T {
  let json: unknown;
  try {
    json = body === "" ? {} : JSON.parse(body);
  } catch (error) {
    throw new ForgeError(`GitLab ${spec.operation}: ${spec.method} ${context.url} answered non-JSON`, {
      ...context,
      kind: "unavailable",
      retryable: false,
      cause: error,
    });
  }
  return checkAnswer(spec, json, context);
}

function checkAnswer<T>(
  spec: GitLabCall<T>,
  json: unknown,
  context: { adapter: string; operation: string; url: string },
): T {
  const parsed = spec.schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? "" : ` (${issue.path.join(".") || "body"}: ${issue.message})`;
    throw new ForgeError(
      `GitLab ${spec.operation}: ${spec.method} ${context.url} answered an unexpected body${where}`,
      { ...context, kind: "unavailable", retryable: false, cause: parsed.error },
    );
  }
  return parsed.data;
}

function queryString(query: Readonly<Record<string, string>> | undefined): string {
  if (query === undefined) return "";
  const text = new URLSearchParams(query).toString();
  return text === "" ? "" : `?${text}`;
}

/** 250 ms, 500 ms, 1 s, ... with up to 20 % jitter so replicas do not retry in step. */
function backoff(config: GitLabClientConfig, attempt: number): number {
  const base = config.retryBaseDelayMs * 2 ** (attempt - 1);
  return Math.round(base * (1 + Math.random() * 0.2));
}

/** Wait before the next attempt; a cancelled wait ends with the failure that caused it. */
async function pause<T>(ms: number, spec: GitLabCall<T>, failure: ForgeError): Promise<void> {
  try {
    await sleep(ms, spec.signal);
  } catch {
    throw failure;
  }
}
