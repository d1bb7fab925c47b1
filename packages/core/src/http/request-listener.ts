import type { IncomingMessage, ServerResponse } from "node:http";
import type { Signal } from "../spec/signal.js";
import type { RejectedItem, SignalParseResult, SignalSource } from "../spec/signal-source.js";
import type { Logger } from "../util/logger.js";
import { createRedactor, type Redactor } from "../util/redact.js";
import { failureAnswer, notAccepting, tooLarge } from "./error-answers.js";
import { type HttpErrorAnswer, ignore, sendError, sendErrorBeforeBody, sendJson } from "./http-response.js";
import { acceptedBody, normalizeParseResult } from "./parse-result.js";
import {
  createProbeHandlers,
  type HealthReport,
  healthPath,
  type ReadinessReport,
  readinessPath,
} from "./probe-routes.js";
import { parseJsonBody, readBody, unsupportedMediaType } from "./request-body.js";
import { headersForSource, logRefusal, pathOf, truncate } from "./request-facts.js";
import { type CompiledRoute, compileRoutes } from "./source-routes.js";

export type { HttpErrorBody, HttpErrorCode } from "./http-response.js";
export { type HealthReport, healthPath, type ReadinessReport, readinessPath } from "./probe-routes.js";

/** A request refused as a whole after it passed authentication, as `refused` is told of it. */
export interface RequestRefusal {
  /** The HTTP status answered: 400, 413 or 415. */
  readonly status: number;
  /** What was wrong, in words; never the body. */
  readonly reason: string;
  /** JSON path of the problem, when there is one. */
  readonly path?: string;
}

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
   *
   * `rejected` holds the items of the body `parse` could not turn into signals (see
   * `SignalParseResult`); record them too, before resolving: the sender is answered 200 and
   * will not send them again.
   */
  accept(signals: readonly Signal[], source: SignalSource, rejected: readonly RejectedItem[]): Promise<void>;
  /**
   * Record that a request that passed authentication was refused as a whole (400, 413, 415):
   * Alertmanager does not retry a 4xx, so its alerts are lost and the audit trail must say so.
   * Awaited before answering; a failure is logged and the answer stays the same. Unauthenticated
   * requests (401) are only logged: anyone could send them.
   */
  refused?(refusal: RequestRefusal, source: SignalSource): Promise<void>;
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
 * content type (415), body size (413, from Content-Length and while streaming), UTF-8 and JSON
 * (400), `route.parse` (400 with the JSON path of the problem). Only then are the signals and
 * the items `parse` rejected passed to `accept`, and the answer is
 * `200 {"status":"accepted","signals":N}` once it has resolved, with `rejected` (a count) and
 * `rejections` (index, path, reason) added when some items were rejected. Each refusal after
 * authentication is also passed to `refused`.
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

  /** Tell `refused` of a 4xx given to a request that passed authentication; never throws. */
  const recordRefusal = async (source: SignalSource, answer: HttpErrorAnswer): Promise<void> => {
    if (options.refused === undefined || answer.status < 400 || answer.status >= 500) return;
    try {
      await options.refused(
        {
          status: answer.status,
          reason: answer.message,
          ...(answer.path === undefined ? {} : { path: answer.path }),
        },
        source,
      );
    } catch (error) {
      logger.warn("could not record a refused webhook request", { source: source.name, error });
    }
  };
  const refuseAuthenticated = async (
    req: IncomingMessage,
    res: ServerResponse,
    source: SignalSource,
    answer: HttpErrorAnswer,
  ) => {
    await recordRefusal(source, answer);
    refuse(req, res, source, answer);
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
      await refuseAuthenticated(req, res, source, {
        status: 415,
        code: "unsupported_media_type",
        message: mediaProblem,
      });
      return;
    }
    const declaredLength = req.headers["content-length"];
    if (declaredLength !== undefined && Number(declaredLength) > compiled.maxBodyBytes) {
      const answer = tooLarge(compiled.maxBodyBytes, `Content-Length is ${declaredLength} bytes`);
      await refuseAuthenticated(req, res, source, answer);
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
      const answer = tooLarge(compiled.maxBodyBytes, `at least ${read.receivedBytes} bytes were sent`);
      await refuseAuthenticated(req, res, source, answer);
      return;
    }

    const json = parseJsonBody(read.body);
    if (!json.ok) {
      const answer: HttpErrorAnswer = { status: 400, code: "bad_request", message: json.message };
      await recordRefusal(source, answer);
      answerAfterBody(req, res, source, answer);
      return;
    }

    let parsed: SignalParseResult;
    try {
      parsed = normalizeParseResult(
        route.parse(json.value, { receivedAt: new Date(), headers: headersForSource(req.headers) }),
      );
    } catch (error) {
      const answer = failureAnswer(error, "parse", unavailableHeaders);
      await recordRefusal(source, answer);
      answerAfterBody(req, res, source, answer, error);
      return;
    }
    const { signals, rejected } = parsed;
    if (rejected.length > 0) {
      logger.warn("webhook alerts rejected, the others accepted", {
        source: source.name,
        path: route.path,
        accepted: signals.length,
        rejected: rejected.length,
        reasons: rejected.slice(0, 5).map((item) => `${item.path}: ${item.reason}`),
      });
    }

    // Checked again: shutdown may have begun while the body was uploading.
    if (!options.accepting()) {
      answerAfterBody(req, res, source, notAccepting(unavailableHeaders));
      return;
    }
    try {
      await options.accept(signals, source, rejected);
    } catch (error) {
      answerAfterBody(req, res, source, failureAnswer(error, "accept", unavailableHeaders), error);
      return;
    }
    sendJson(res, 200, acceptedBody(signals.length, rejected));
    logger.debug("webhook accepted", {
      source: source.name,
      signals: signals.length,
      rejected: rejected.length,
    });
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
