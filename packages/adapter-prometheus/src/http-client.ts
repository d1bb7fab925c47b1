import { BadInputError, describeChain, redact, SelfHealError, TimeoutError } from "@selfheal/core";
import { type Dispatcher, request } from "undici";

/** Credentials sent with every request: a bearer token or HTTP basic auth. */
export type HttpAuth =
  | { readonly bearer: string }
  | { readonly basic: { readonly username: string; readonly password: string } };

/** How to reach a Prometheus or Alertmanager server. */
export interface HttpConnectionSettings {
  /** Base URL of the server (`http://prometheus:9090`); a path prefix is kept (`/prometheus`). */
  readonly url: string;
  /**
   * Credentials to send. Credentials written in `url` (`http://user:pass@host`) are sent as basic auth.
   * @default undefined
   */
  readonly auth?: HttpAuth;
  /**
   * Extra headers sent with every request (a tenant header such as `X-Scope-OrgID`).
   * @default {}
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The undici dispatcher that carries the requests (a proxy agent, a mock in tests).
   * @default undici's global dispatcher
   */
  readonly dispatcher?: Dispatcher;
}

/** One request to make. */
export interface HttpCall {
  /** Names the call in errors (`query`, `createSilence`). */
  readonly operation: string;
  readonly method: "GET" | "POST" | "DELETE";
  /** Path below the base URL, starting with `/`. */
  readonly path: string;
  readonly query?: URLSearchParams;
  /** A form body (`application/x-www-form-urlencoded`). */
  readonly form?: URLSearchParams;
  /** A JSON body. */
  readonly json?: unknown;
  readonly signal: AbortSignal;
  /** Time limit of this request, in milliseconds. */
  readonly timeoutMs: number;
}

/** What a server answered. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  /** The URL called, credentials redacted, for messages and evidence. */
  readonly url: string;
}

/** Sends requests to one server; errors name `adapter`. */
export interface HttpClient {
  /** The base URL, credentials redacted. */
  readonly safeUrl: string;
  /** Send a request; rejects only when no answer came (network, timeout, cancelled). */
  send(call: HttpCall): Promise<HttpAnswer>;
  /** The error for an answer that is not what was expected. */
  statusError(call: HttpCall, answer: HttpAnswer, detail: string): SelfHealError;
  /** The error for a success answer whose body does not match its schema (`cause`: the zod error). */
  unexpectedBody(call: HttpCall, answer: HttpAnswer, cause: unknown): SelfHealError;
}

/** A client for the server at `settings.url`; checks the settings once, here. */
export function createHttpClient(adapter: string, settings: HttpConnectionSettings): HttpClient {
  let base: URL;
  try {
    base = new URL(settings.url);
  } catch {
    throw new BadInputError(`${adapter}: url is not a valid URL: ${redact(settings.url)}`, {
      adapter,
      path: "url",
    });
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new BadInputError(`${adapter}: url must be http(s): ${redact(settings.url)}`, {
      adapter,
      path: "url",
    });
  }
  const headers: Record<string, string> = { ...settings.headers };
  const auth = settings.auth;
  if (auth !== undefined && "bearer" in auth) headers.authorization = `Bearer ${auth.bearer}`;
  else if (auth !== undefined) headers.authorization = basic(auth.basic.username, auth.basic.password);
  else if (base.username !== "" || base.password !== "") {
    headers.authorization = basic(decodeURIComponent(base.username), decodeURIComponent(base.password));
  }
  base.username = "";
  base.password = "";
  const prefix = base.pathname.replace(/\/+$/, "");
  const safeUrl = redact(`${base.origin}${prefix}`);

  const urlOf = (call: HttpCall): URL => {
    const url = new URL(base.toString());
    url.pathname = `${prefix}${call.path}`;
    url.search = call.query?.toString() ?? "";
    return url;
  };

  return {
    safeUrl,
    async send(call) {
      const url = urlOf(call);
      // Queries may carry label values; keep them out of messages and evidence.
      const shownUrl = `${safeUrl}${call.path}`;
      const timeout = AbortSignal.timeout(call.timeoutMs);
      const signal = AbortSignal.any([call.signal, timeout]);
      const requestHeaders: Record<string, string> = { ...headers, accept: "application/json" };
      let body: string | undefined;
      if (call.form !== undefined) {
        requestHeaders["content-type"] = "application/x-www-form-urlencoded";
        body = call.form.toString();
      } else if (call.json !== undefined) {
        requestHeaders["content-type"] = "application/json";
        body = JSON.stringify(call.json);
      }
      try {
        const response = await request(url, {
          method: call.method,
          headers: requestHeaders,
          ...(body === undefined ? {} : { body }),
          signal,
          ...(settings.dispatcher === undefined ? {} : { dispatcher: settings.dispatcher }),
        });
        return { status: response.statusCode, body: await response.body.text(), url: shownUrl };
      } catch (error) {
        const context = { adapter, operation: call.operation, url: shownUrl } as const;
        if (timeout.aborted) {
          throw new TimeoutError(
            `${adapter} ${call.operation}: ${shownUrl} did not answer in ${call.timeoutMs} ms`,
            context,
          );
        }
        if (call.signal.aborted) {
          throw new SelfHealError(`${adapter} ${call.operation}: request to ${shownUrl} cancelled`, {
            ...context,
            cause: error,
          });
        }
        // Refused, reset, DNS: the server may be back soon.
        throw new SelfHealError(
          `${adapter} ${call.operation}: ${shownUrl} failed: ${redact(describeChain(error))}`,
          {
            ...context,
            retryable: true,
            cause: error,
          },
        );
      }
    },
    statusError(call, answer, detail) {
      return new SelfHealError(
        `${adapter} ${call.operation}: ${answer.url} answered ${answer.status}: ${detail}`,
        {
          adapter,
          operation: call.operation,
          url: answer.url,
          status: answer.status,
          // 5xx and 429 may pass; a 4xx repeats itself.
          retryable: answer.status >= 500 || answer.status === 429,
        },
      );
    },
    unexpectedBody(call, answer, cause) {
      return new SelfHealError(
        `${adapter} ${call.operation}: ${answer.url} answered ${answer.status} with an unexpected body: ${bodyPreview(answer.body)}`,
        { adapter, operation: call.operation, url: answer.url, status: answer.status, cause },
      );
    },
  };
}

/** The body as JSON, or `undefined` when it is not JSON (an HTML error page): the schema then says why. */
export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** The start of a body for an error message: a reverse proxy may answer with a page of HTML. */
export function bodyPreview(body: string): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return redact(flat.length > 200 ? `${flat.slice(0, 200)}…` : flat);
}

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}
