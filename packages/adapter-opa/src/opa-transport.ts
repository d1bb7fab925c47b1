import { BadInputError, describeChain, redact } from "@selfheal/core";
import { sleep } from "@selfheal/core/internal";
import { type Dispatcher, Pool } from "undici";

/** How to reach OPA, as the transport needs it. */
export interface OpaTransportSettings {
  readonly url: string;
  readonly token?: string | undefined;
  readonly dispatcher?: Dispatcher | undefined;
  readonly ca?: string | readonly string[] | undefined;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
}

/** One request to OPA: a path below the base URL, already encoded, with its query. */
export interface OpaRequest {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly body?: string;
}

/**
 * How an exchange with OPA ended. Never an exception: the policy turns each kind into a
 * fail-closed decision with its own reason.
 */
export type OpaExchange =
  /** OPA answered (the last answer, when 5xx answers were retried). */
  | { readonly kind: "answered"; readonly status: number; readonly body: string; readonly attempts: number }
  /** The time limit ran out before OPA answered. */
  | { readonly kind: "timeout"; readonly attempts: number }
  /** The caller's signal aborted. */
  | { readonly kind: "cancelled"; readonly attempts: number }
  /** No answer: refused, reset, unknown host, or an error of the dispatcher itself. */
  | { readonly kind: "unreachable"; readonly detail: string; readonly attempts: number };

/** A configured connection to one OPA. */
export interface OpaTransport {
  /** The base URL as reasons show it (no credentials, no query). */
  readonly safeUrl: string;
  /** Send with retries on connection errors and 5xx, all within the time limit. */
  exchange(request: OpaRequest, signal: AbortSignal): Promise<OpaExchange>;
  /** Close the pool this transport created; an injected dispatcher is left alone. */
  close(): Promise<void>;
}

/** Errors that mean the request never reached OPA or the connection broke: worth another try. */
const connectionCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** Check the connection settings and build the transport. Throws `BadInputError` on unusable ones. */
export function opaTransport(settings: OpaTransportSettings): OpaTransport {
  const base = parseBaseUrl(settings.url);
  const origin = base.origin;
  const basePath = base.pathname.replace(/\/+$/, "");
  const safeUrl = redact(`${origin}${basePath}`);
  if (settings.ca !== undefined && settings.dispatcher !== undefined) {
    throw new BadInputError("opa: give either ca or dispatcher (then configure the CA in the dispatcher)", {
      adapter: "opa",
      path: "ca",
    });
  }
  const connect = settings.ca === undefined ? {} : { connect: { ca: [settings.ca].flat() } };
  const owned =
    settings.dispatcher === undefined ? new Pool(origin, { connections: 16, ...connect }) : undefined;
  const dispatcher: Dispatcher = settings.dispatcher ?? (owned as Pool);
  const headers: Record<string, string> = { accept: "application/json" };
  if (settings.token !== undefined && settings.token !== "") {
    headers.authorization = `Bearer ${settings.token}`;
  }

  async function exchange(request: OpaRequest, signal: AbortSignal): Promise<OpaExchange> {
    const started = performance.now();
    // One controller for both the caller's signal and our time limit, wired by hand:
    // AbortSignal.any cost about 70 µs per call on Node 20 (measured), more than the rest of
    // the client's work on a decision, and it keeps a weak link on the caller's signal per call.
    const combinedController = new AbortController();
    const combined = combinedController.signal;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      combinedController.abort(new Error("OPA time limit"));
    }, settings.timeoutMs);
    const onCallerAbort = () => combinedController.abort(signal.reason);
    if (signal.aborted) onCallerAbort();
    else signal.addEventListener("abort", onCallerAbort, { once: true });
    const aborted = (attempts: number): OpaExchange | undefined => {
      if (signal.aborted) return { kind: "cancelled", attempts };
      if (timedOut) return { kind: "timeout", attempts };
      return undefined;
    };
    try {
      for (let attempt = 1; ; attempt++) {
        let outcome: OpaExchange;
        try {
          const response = await dispatcher.request({
            origin,
            path: `${basePath}${request.path}`,
            method: request.method,
            headers:
              request.body === undefined ? headers : { ...headers, "content-type": "application/json" },
            ...(request.body === undefined ? {} : { body: request.body }),
            signal: combined,
          });
          // Read the whole body, also of a 5xx: a drained response keeps the connection reusable.
          const body = await response.body.text();
          outcome = { kind: "answered", status: response.statusCode, body, attempts: attempt };
          if (response.statusCode < 500) return outcome;
        } catch (error) {
          const stopped = aborted(attempt);
          if (stopped !== undefined) return stopped;
          outcome = { kind: "unreachable", detail: redact(describeChain(error)), attempts: attempt };
          if (!isConnectionError(error)) return outcome;
        }
        const delay = settings.retryDelayMs * 2 ** (attempt - 1);
        const left = settings.timeoutMs - (performance.now() - started);
        // Retry only when the pause leaves time for another try; else the real failure (a 503,
        // a refused connection) says more than a timeout would.
        if (attempt > settings.retries || delay >= left) return outcome;
        try {
          await sleep(delay, combined);
        } catch {
          return aborted(attempt) ?? outcome;
        }
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onCallerAbort);
    }
  }

  return {
    safeUrl,
    exchange,
    async close() {
      await owned?.close();
    },
  };
}

function parseBaseUrl(raw: string): URL {
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    // No cause: the parser's message would repeat the URL.
    throw new BadInputError(`opa: url is not a valid URL: ${redact(raw)}`, { adapter: "opa", path: "url" });
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") {
    throw new BadInputError(`opa: url must be http(s): ${redact(raw)}`, { adapter: "opa", path: "url" });
  }
  if (base.username !== "" || base.password !== "") {
    throw new BadInputError("opa: url must not hold credentials; pass token instead", {
      adapter: "opa",
      path: "url",
    });
  }
  if (base.search !== "" || base.hash !== "") {
    throw new BadInputError(`opa: url must not have a query or fragment: ${redact(raw)}`, {
      adapter: "opa",
      path: "url",
    });
  }
  return base;
}

function codeOf(error: unknown): string | undefined {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : undefined;
}

function isConnectionError(error: unknown): boolean {
  const cause = error instanceof Error ? error.cause : undefined;
  return [codeOf(error), codeOf(cause)].some((code) => code !== undefined && connectionCodes.has(code));
}
