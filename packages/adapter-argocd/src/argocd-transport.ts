import { BadInputError, describeError, redact } from "@selfheal/core";
import { Agent, type Dispatcher, request } from "undici";
import { ArgocdRuntimeError } from "./argocd-application.js";
import { ArgocdError } from "./argocd-error.js";

/** How to reach the Argo CD API server. */
export interface ArgocdConnection {
  /** Base URL of the API server (`https://argocd.example.com`, or with a path prefix). */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>` (an account token, or one from `POST /api/v1/session`). */
  readonly token?: string;
  /** PEM certificate(s) of the CA that signed the server's certificate, trusted besides the system ones. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /**
   * Skip TLS certificate verification. Anyone on the path can then read the token: for tests
   * and throw-away clusters only; prefer `ca`.
   * @default false
   */
  readonly insecure?: boolean;
  /**
   * The undici dispatcher every request goes through (a proxy agent, a test double). When set,
   * `ca` and `insecure` must be configured on it instead.
   * @default a new `undici.Agent` with `ca` / `insecure` applied
   */
  readonly dispatcher?: Dispatcher;
  /**
   * Time limit of one HTTP request, in milliseconds.
   * @default 30000
   */
  readonly requestTimeoutMs?: number;
}

/** One request as the client sends it. */
export interface ArgocdRequest {
  readonly method: "GET" | "POST";
  /** Path below the base URL, already encoded (`/api/v1/applications/checkout`). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** What is being done, for errors (`getApplication`). */
  readonly operation: string;
  /** The application, for a readable 404. */
  readonly app: string;
  readonly signal?: AbortSignal;
  /** Overrides the connection's request time limit. */
  readonly timeoutMs?: number;
}

/** A ready connection: sends requests, answers parsed JSON of a 200 or throws an `ArgocdError`. */
export interface ArgocdTransport {
  /** The base URL as errors show it (credentials redacted). */
  readonly safeUrl: string;
  send(request: ArgocdRequest): Promise<unknown>;
  /** Closes the agent this transport created (not an injected dispatcher). */
  close(): Promise<void>;
}

const tlsCodes = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** Check the settings and build the transport. Throws `BadInputError` on unusable settings. */
export function argocdTransport(settings: ArgocdConnection): ArgocdTransport {
  let base: URL;
  try {
    base = new URL(settings.url);
  } catch {
    throw new BadInputError(`argocd: url is not a valid URL: ${redact(settings.url)}`, { adapter: "argocd" });
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") {
    throw new BadInputError(`argocd: url must be http(s): ${redact(settings.url)}`, { adapter: "argocd" });
  }
  if (settings.dispatcher !== undefined && (settings.ca !== undefined || settings.insecure === true)) {
    throw new BadInputError("argocd: with a dispatcher, configure ca / insecure on the dispatcher itself", {
      adapter: "argocd",
    });
  }
  const timeoutMs = settings.requestTimeoutMs ?? 30_000;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw new BadInputError("argocd: requestTimeoutMs must be a positive number", { adapter: "argocd" });
  }
  const basePath = base.pathname.replace(/\/+$/, "");
  const origin = base.origin;
  const safeUrl = redact(`${origin}${basePath}`);
  const owned =
    settings.dispatcher === undefined
      ? new Agent({
          connect: {
            ...(settings.ca === undefined ? {} : { ca: caList(settings.ca) }),
            rejectUnauthorized: settings.insecure !== true,
          },
        })
      : undefined;
  const dispatcher = settings.dispatcher ?? (owned as Dispatcher);
  const headers: Record<string, string> = { accept: "application/json" };
  if (settings.token !== undefined && settings.token !== "")
    headers.authorization = `Bearer ${settings.token}`;

  return {
    safeUrl,
    async send(call) {
      const url = `${safeUrl}${call.path}`;
      const context = { operation: call.operation, url } as const;
      const limit = AbortSignal.timeout(call.timeoutMs ?? timeoutMs);
      const signal = call.signal === undefined ? limit : AbortSignal.any([call.signal, limit]);
      const query = new URLSearchParams(call.query).toString();
      let status: number;
      let text: string;
      try {
        const response = await request(`${origin}${basePath}${call.path}${query === "" ? "" : `?${query}`}`, {
          method: call.method,
          headers: call.body === undefined ? headers : { ...headers, "content-type": "application/json" },
          ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
          dispatcher,
          signal,
        });
        status = response.statusCode;
        text = await response.body.text();
      } catch (error) {
        // The caller gave up: pass its reason on, this is not an Argo CD failure.
        if (call.signal?.aborted) throw call.signal.reason;
        if (limit.aborted) {
          throw new ArgocdError(`Argo CD ${url} did not answer within ${call.timeoutMs ?? timeoutMs} ms`, {
            ...context,
            kind: "timeout",
            cause: error,
          });
        }
        const tls = tlsCodeOf(error);
        if (tls !== undefined) {
          throw new ArgocdError(
            `Argo CD ${url}: TLS certificate not trusted (${tls}); set \`ca\` to the CA's PEM`,
            { ...context, kind: "tls", cause: error },
          );
        }
        throw new ArgocdError(`Argo CD ${url} failed: ${describeError(error)}`, {
          ...context,
          kind: "unavailable",
          cause: error,
        });
      }
      if (status === 200) {
        try {
          return JSON.parse(text) as unknown;
        } catch (error) {
          throw new ArgocdError(`Argo CD ${url} answered 200 with a body that is not JSON`, {
            ...context,
            status,
            kind: "bad_response",
            cause: error,
          });
        }
      }
      throw errorFor(status, text, call.app, context);
    },
    async close() {
      await owned?.close();
    },
  };
}

/** The error for a non-200 answer, from its status and `runtimeError` body. */
function errorFor(
  status: number,
  text: string,
  app: string,
  context: { readonly operation: string; readonly url: string },
): ArgocdError {
  let parsed: ArgocdRuntimeError = {};
  try {
    parsed = ArgocdRuntimeError.catch({}).parse(JSON.parse(text));
  } catch {
    // Not JSON (a proxy's HTML page): the status says enough.
  }
  const said = parsed.message ?? parsed.error ?? text.slice(0, 200);
  const base = {
    ...context,
    status,
    ...(parsed.code === undefined ? {} : { grpcCode: parsed.code }),
  };
  const where = `Argo CD ${context.operation} ${JSON.stringify(app)}`;
  // FailedPrecondition (gRPC 9) maps to 400 and also means "application is deleting", so the
  // code alone does not tell; Argo CD gives no other marker than its message
  // (util/argo/argo.go ErrAnotherOperationInProgress).
  if (status === 400 && said.includes("another operation is already in progress")) {
    return new ArgocdError(`${where}: another operation is already in progress`, {
      ...base,
      kind: "busy",
    });
  }
  if (status === 401) {
    return new ArgocdError(`${where}: 401 unauthenticated: the token is missing, expired or invalid`, {
      ...base,
      kind: "unauthorized",
    });
  }
  if (status === 403) {
    return new ArgocdError(
      `${where}: 403 permission denied (${said}); without \`project\` Argo CD also answers 403 for an application that does not exist`,
      { ...base, kind: "forbidden" },
    );
  }
  if (status === 404) {
    return new ArgocdError(`${where}: application ${JSON.stringify(app)} not found`, {
      ...base,
      kind: "not_found",
    });
  }
  if (status >= 500 || status === 429) {
    return new ArgocdError(`${where}: ${status} ${said}`, { ...base, kind: "unavailable" });
  }
  return new ArgocdError(`${where}: ${status} ${said}`, { ...base, kind: "invalid" });
}

/** The OpenSSL verification code of a TLS failure, looking through `cause`s. */
function tlsCodeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && tlsCodes.has(code)) return code;
    current = current.cause;
  }
  return undefined;
}

/** The CA option as the TLS layer takes it. */
function caList(ca: NonNullable<ArgocdConnection["ca"]>): (string | Buffer)[] {
  return typeof ca === "string" || Buffer.isBuffer(ca) ? [ca] : [...ca];
}
