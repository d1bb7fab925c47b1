import { BadInputError, describeChain, SelfHealError, TimeoutError } from "../errors/selfheal-error.js";
import { timeLimitedSignal } from "../util/async.js";
import { redact } from "../util/redact.js";

/** What differs between the notifiers that POST to an HTTP endpoint. */
export interface HttpTargetKind {
  /** The adapter named in errors and their context: `slack`, `webhook`. */
  readonly adapter: string;
  /** What messages about a request call the endpoint, before its URL: `Slack webhook`, `webhook`. */
  readonly label: string;
  /** The URL as errors may show it: credentials redacted, query dropped, maybe more hidden. */
  readonly safeUrlOf: (raw: string) => string;
}

/** The URL to call, the URL to show (from {@link HttpTargetKind.safeUrlOf}), and the headers to send. */
export interface Target {
  readonly url: string;
  readonly safeUrl: string;
  readonly headers: Record<string, string>;
}

/** The time limit of one request, checked to be a positive number. */
export function checkTimeoutMs(kind: HttpTargetKind, name: string, timeoutMs: number): number {
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new BadInputError(`${kind.adapter} notifier ${name}: timeoutMs must be a positive number`, {
      adapter: kind.adapter,
    });
  }
  return timeoutMs;
}

/**
 * Parse and check the URL of notifier `name`. Credentials in it become a Basic `authorization`
 * header, next to `content-type: application/json`.
 */
export function prepareTarget(kind: HttpTargetKind, raw: string, name: string): Target {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // No cause: the parser's message would repeat the URL.
    throw new BadInputError(
      `${kind.adapter} notifier ${name}: url is not a valid URL: ${kind.safeUrlOf(raw)}`,
      {
        adapter: kind.adapter,
      },
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new BadInputError(`${kind.adapter} notifier ${name}: url must be http(s): ${kind.safeUrlOf(raw)}`, {
      adapter: kind.adapter,
    });
  }
  const headers: Record<string, string> = { "content-type": "application/json" };
  // fetch refuses URLs with credentials (and repeats the URL in its error): send them as Basic
  // auth instead, which is what such a URL means.
  if (url.username !== "" || url.password !== "") {
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString("base64")}`;
    url.username = "";
    url.password = "";
  }
  return { url: url.toString(), safeUrl: kind.safeUrlOf(raw), headers };
}

/** A URL fit for an error message: credentials redacted, query and fragment dropped. */
export function redactedUrlWithoutQuery(raw: string): string {
  return redact(raw.replace(/[?#].*$/s, ""));
}

/** What an endpoint answered. */
export interface PostAnswer {
  readonly status: number;
  readonly ok: boolean;
  readonly body: string;
}

/**
 * POST a JSON body to a target within `timeoutMs` (and the caller's signal), and read the answer.
 * A request that gets no answer rejects with the error `transportError` describes.
 */
export async function postJson(
  kind: HttpTargetKind,
  target: Target,
  request: {
    readonly transport: typeof fetch;
    readonly headers: Readonly<Record<string, string>> | Headers;
    readonly body: unknown;
    readonly signal: AbortSignal;
    readonly timeoutMs: number;
    readonly incidentId: string;
  },
): Promise<PostAnswer> {
  const limited = timeLimitedSignal(request.signal, request.timeoutMs);
  const { signal } = limited;
  try {
    const response = await request.transport(target.url, {
      method: "POST",
      headers: request.headers,
      body: JSON.stringify(request.body),
      signal,
    });
    return { status: response.status, ok: response.ok, body: await response.text() };
  } catch (error) {
    throw transportError(kind, error, signal, { incidentId: request.incidentId, url: target.safeUrl });
  } finally {
    limited.done();
  }
}

/**
 * The error for a request that got no answer: a {@link TimeoutError} when the time limit ran
 * out, a cancellation when the caller's signal did, else a retryable network failure.
 */
function transportError(
  kind: HttpTargetKind,
  error: unknown,
  signal: AbortSignal,
  context: { readonly incidentId: string; readonly url: string },
): SelfHealError {
  const base = { ...context, adapter: kind.adapter, operation: "notify" } as const;
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof Error && reason.name === "TimeoutError") {
      return new TimeoutError(`${kind.label} ${context.url} did not answer in time`, base);
    }
    return new SelfHealError(`${kind.label} ${context.url}: request cancelled`, { ...base, cause: error });
  }
  // Network failures (refused, reset, DNS) may pass.
  return new SelfHealError(`${kind.label} ${context.url} failed: ${redact(describeChain(error))}`, {
    ...base,
    retryable: true,
    cause: error,
  });
}
