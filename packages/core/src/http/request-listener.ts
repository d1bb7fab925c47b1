import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Signal } from "../spec/signal.js";
import type { SignalSource } from "../spec/signal-source.js";
import type { Logger } from "../util/logger.js";
import { createRedactor, type Redactor } from "../util/redact.js";
import { failureAnswer, notAccepting, tooLarge } from "./error-answers.js";
import { type HttpErrorAnswer, ignore, sendError, sendErrorBeforeBody, sendJson } from "./http-response.js";
import {
  createProbeHandlers,
  type HealthReport,
  healthPath,
  type ReadinessReport,
  readinessPath,
} from "./probe-routes.js";
import { parseJsonBody, readBody, unsupportedMediaType } from "./request-body.js";
import { type CompiledRoute, compileRoutes } from "./source-routes.js";

export type { HttpErrorBody, HttpErrorCode } from "./http-response.js";
export { type HealthReport, healthPath, type ReadinessReport, readinessPath } from "./probe-routes.js";

/** Options of `createRequestListener`. */
export interface RequestListenerOptions {
  /** The sources; each one with a `route` is served at `route.path` (POST only). */
  readonly sources: readonly SignalSource[];
  /**
   * Record the signals of one request durably. The request is answered 2xx only after this
   * resolves: Alertmanager forgets a notification once it got a 2xx, so acknowledging before
   * the write would lose alerts on a crash. Reject with a retryable `SelfHealError` (e.g. a
   * `StoreError`) for a failure a retry may fix (answered 503), with a `BadInputError` for
   * signals that will never be accepted (400); anything else is answered 500.
   */
  accept(signals: readonly Signal[], source: SignalSource): Promise<void>;
  /** `false` while shutting down or overloaded: source routes answer 503 before reading the body. */
  accepting(): boolean;
  /** Served at `GET /healthz`: 200 when `ok`, else 503. */
  health(): HealthReport;
  /** Served at `GET /readyz`: 200 when `ready`, else 503. */
  readiness(): Promise<ReadinessReport>;
  /** Where refused and failed requests are logged. */
  readonly logger: Logger;
  /**
   * Redacts the message of every error answer (a store error may quote its connection). The
   * controller passes its own, which knows its configured secrets.
   * @default createRedactor() (known credential shapes only)
   */
  readonly redactor?: Redactor;
  /**
   * `Retry-After` of 503 answers, in seconds. Alertmanager ignores it (it retries with its own
   * backoff); other senders may honour it.
   * @default 5
   */
  readonly retryAfterSeconds?: number;
}

/**
 * A `node:http` request listener that takes signal pushes (Alertmanager webhooks) and serves
 * `/healthz` and `/readyz`.
 *
 * A source route checks, in order: method (405), credentials (401), `accepting()` (503),
 * content type (415), body size (413, from Content-Length and while streaming), JSON (400),
 * `route.parse` (400 with the JSON path of the problem). Only then are the signals passed to
 * `accept`, and the answer is `200 {"status":"accepted","signals":N}` once it has resolved.
 * Overload and store failures are answered 503, never 429: Alertmanager retries 5xx and drops
 * a notification on any 4xx. Every error answer is `{"error":{status,code,message,path?}}`.
 *
 * @throws BadInputError when two routes share a path, a path is malformed or reserved, or a
 * route's settings are invalid.
 */
export function createRequestListener(
  options: RequestListenerOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const { logger } = options;
  const routes = compileRoutes(options.sources);
  const probes = createProbeHandlers(options);
  const retryAfter = String(options.retryAfterSeconds ?? 5);
  const unavailableHeaders = { "retry-after": retryAfter };
  const { redact } = options.redactor ?? createRedactor();

  const refuse = (
    req: IncomingMessage,
    res: ServerResponse,
    source: SignalSource,
    answer: HttpErrorAnswer,
  ) => {
    logRefusal(logger, req, source, answer);
    sendErrorBeforeBody(req, res, { ...answer, message: redact(answer.message) });
  };

  async function handleSourceRoute(compiled: CompiledRoute, req: IncomingMessage, res: ServerResponse) {
    const { source, route } = compiled;
    if (req.method !== "POST") {
      refuse(req, res, source, {
        status: 405,
        code: "method_not_allowed",
        message: `${req.method ?? "?"} is not allowed on ${route.path}: send the webhook with POST`,
        headers: { allow: "POST" },
      });
      return;
    }
    if (compiled.authenticator !== undefined) {
      const failure = compiled.authenticator.check(req.headers.authorization);
      if (failure !== undefined) {
        refuse(req, res, source, {
          status: 401,
          code: "unauthorized",
          message: failure.message,
          headers: { "www-authenticate": failure.challenge },
        });
        return;
      }
    }
    if (!options.accepting()) {
      refuse(req, res, source, notAccepting(unavailableHeaders));
      return;
    }
    const mediaProblem = unsupportedMediaType(req.headers["content-type"], req.headers["content-encoding"]);
    if (mediaProblem !== undefined) {
      refuse(req, res, source, { status: 415, code: "unsupported_media_type", message: mediaProblem });
      return;
    }
    const declaredLength = req.headers["content-length"];
    if (declaredLength !== undefined && Number(declaredLength) > compiled.maxBodyBytes) {
      refuse(req, res, source, tooLarge(compiled.maxBodyBytes, `Content-Length is ${declaredLength} bytes`));
      return;
    }

    // Kept from here on: an aborted upload must not surface as an unhandled 'error'.
    req.on("error", ignore);
    const read = await readBody(req, compiled.maxBodyBytes);
    if (read.kind === "aborted") {
      logger.debug("webhook upload aborted by the client", { source: source.name, path: route.path });
      return;
    }
    if (read.kind === "too_large") {
      refuse(
        req,
        res,
        source,
        tooLarge(compiled.maxBodyBytes, `at least ${read.receivedBytes} bytes were sent`),
      );
      return;
    }

    const json = parseJsonBody(read.body);
    if (!json.ok) {
      answerAfterBody(req, res, source, { status: 400, code: "bad_request", message: json.message });
      return;
    }

    let signals: Signal[];
    try {
      signals = route.parse(json.value, { receivedAt: new Date(), headers: headersForSource(req.headers) });
    } catch (error) {
      answerAfterBody(req, res, source, failureAnswer(error, "parse", unavailableHeaders), error);
      return;
    }

    // Checked again: shutdown may have begun while the body was uploading.
    if (!options.accepting()) {
      answerAfterBody(req, res, source, notAccepting(unavailableHeaders));
      return;
    }
    try {
      await options.accept(signals, source);
    } catch (error) {
      answerAfterBody(req, res, source, failureAnswer(error, "accept", unavailableHeaders), error);
      return;
    }
    sendJson(res, 200, `{"status":"accepted","signals":${signals.length}}`);
    logger.debug("webhook accepted", { source: source.name, signals: signals.length });
  }

  const answerAfterBody = (
    req: IncomingMessage,
    res: ServerResponse,
    source: SignalSource,
    answer: HttpErrorAnswer,
    error?: unknown,
  ) => {
    logRefusal(logger, req, source, answer, error);
    sendError(res, { ...answer, message: redact(answer.message) });
  };

  const onUnexpected = (req: IncomingMessage, res: ServerResponse) => (error: unknown) => {
    logger.error("webhook server failed to answer a request", { path: pathOf(req), error });
    if (res.headersSent) res.destroy();
    else sendError(res, { status: 500, code: "internal", message: "internal error: see the controller log" });
  };

  return (req, res) => {
    const path = pathOf(req);
    const compiled = routes.get(path);
    let handled: Promise<void>;
    if (compiled !== undefined) handled = handleSourceRoute(compiled, req, res);
    else if (path === healthPath || path === readinessPath) handled = probes[path](req, res);
    else {
      sendErrorBeforeBody(req, res, {
        status: 404,
        code: "not_found",
        message: `no route for ${truncate(path, 200)}: webhook routes are ${[...routes.keys()].join(", ") || "(none)"}`,
      });
      return;
    }
    handled.catch(onUnexpected(req, res));
  };
}

function logRefusal(
  logger: Logger,
  req: IncomingMessage,
  source: SignalSource,
  answer: HttpErrorAnswer,
  error?: unknown,
): void {
  const fields = {
    source: source.name,
    path: pathOf(req),
    status: answer.status,
    code: answer.code,
    // Not `message`: that key is the log line's own.
    reason: answer.message,
    ...(answer.path === undefined ? {} : { errorPath: answer.path }),
    ...(error === undefined ? {} : { error }),
    remoteAddress: req.socket.remoteAddress,
  };
  if (answer.status >= 500) {
    if (answer.code === "internal") logger.error("webhook request failed", fields);
    else logger.warn("webhook request not accepted, sender should retry", fields);
  } else if (answer.status === 405) logger.debug("webhook request refused", fields);
  else logger.warn("webhook request refused", fields);
}

/** Request headers as a source sees them: one string each, without credentials. */
function headersForSource(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    if (name === "authorization" || name === "proxy-authorization" || name === "cookie") continue;
    const value = headers[name];
    if (value !== undefined) out[name] = typeof value === "string" ? value : value.join(", ");
  }
  return out;
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}
