import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";

/** The `code` of an error answer: one per status the webhook server uses. */
export type HttpErrorCode =
  | "bad_request"
  | "unauthorized"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "unsupported_media_type"
  | "unavailable"
  | "internal";

/** The body of every error answer of the webhook server. */
export interface HttpErrorBody {
  readonly error: {
    /** The HTTP status, repeated for clients that only keep the body. */
    readonly status: number;
    readonly code: HttpErrorCode;
    /** What was wrong and where, never a credential. */
    readonly message: string;
    /** JSON path of the problem in the body (`alerts[0].startsAt`), when there is one. */
    readonly path?: string;
  };
}

/** An error answer about to be sent. */
export interface HttpErrorAnswer {
  readonly status: number;
  readonly code: HttpErrorCode;
  readonly message: string;
  readonly path?: string | undefined;
  readonly headers?: OutgoingHttpHeaders;
}

/**
 * How much of an unread request body is drained after an early answer (401, 413, 415, 503)
 * before the connection is dropped, and for how long. See `sendErrorBeforeBody`.
 */
const drainLimitBytes = 1_048_576;
const drainTimeoutMs = 2_000;

const jsonContentType = "application/json; charset=utf-8";

/** Answer with a JSON body. */
export function sendJson(
  res: ServerResponse,
  status: number,
  payload: string,
  headers?: OutgoingHttpHeaders,
): void {
  res.writeHead(status, jsonHeaders(payload, headers));
  res.end(payload);
}

/** The headers of a JSON answer of `payload`, with `extra` on top. */
function jsonHeaders(payload: string, extra?: OutgoingHttpHeaders): OutgoingHttpHeaders {
  return {
    "content-type": jsonContentType,
    "content-length": Buffer.byteLength(payload),
    "cache-control": "no-store",
    ...extra,
  };
}

export function errorPayload(answer: HttpErrorAnswer): string {
  const body: HttpErrorBody = {
    error: {
      status: answer.status,
      code: answer.code,
      message: answer.message,
      ...(answer.path === undefined ? {} : { path: answer.path }),
    },
  };
  return JSON.stringify(body);
}

/** Answer with an error once the request body has been read (or there was none). */
export function sendError(res: ServerResponse, answer: HttpErrorAnswer): void {
  sendJson(res, answer.status, errorPayload(answer), answer.headers);
}

/** Whether the request carries a body (RFC 9112 §6.3: only Content-Length or Transfer-Encoding say so). */
export function hasRequestBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * Answer with an error while (part of) the request body is still unread, and close the connection.
 *
 * Closing a socket whose peer is still sending makes the kernel send a reset, which can destroy
 * our answer in the client's buffers before it is read (RFC 9112 §9.6). So the whole answer is
 * written first (its Content-Length lets the client act on it at once; Go's client and undici do,
 * and then close), and the response is ended, which closes the connection, only once the rest
 * of the body has been discarded, the client has gone, or a limit of bytes or time is reached.
 * Nothing of the discarded body is kept.
 */
export function sendErrorBeforeBody(
  req: IncomingMessage,
  res: ServerResponse,
  answer: HttpErrorAnswer,
): void {
  // Nothing unread on the wire: Node discards what it buffered and the connection can be reused.
  if (!hasRequestBody(req) || req.complete) {
    sendError(res, answer);
    return;
  }
  const payload = errorPayload(answer);
  res.writeHead(answer.status, jsonHeaders(payload, { connection: "close", ...answer.headers }));
  res.write(payload);

  let discarded = 0;
  const finish = () => {
    clearTimeout(timer);
    req.off("data", onData);
    req.off("end", finish);
    req.off("close", finish);
    if (!res.writableEnded) res.end();
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > drainLimitBytes) finish();
  };
  const timer = setTimeout(finish, drainTimeoutMs);
  timer.unref();
  req.on("data", onData);
  req.once("end", finish);
  req.once("close", finish);
  // Aborted uploads surface as 'error' on the request: expected here, nothing to do.
  req.on("error", ignore);
  req.resume();
}

/** An event listener that does nothing (errors expected and handled elsewhere). */
export function ignore(): void {}
