import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { SignalSource } from "../spec/signal-source.js";
import type { Logger } from "../util/logger.js";
import type { HttpErrorAnswer } from "./http-response.js";

/** Log a refused or failed request at the level its status deserves. */
export function logRefusal(
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
export function headersForSource(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    if (name === "authorization" || name === "proxy-authorization" || name === "cookie") continue;
    const value = headers[name];
    if (value !== undefined) out[name] = typeof value === "string" ? value : value.join(", ");
  }
  return out;
}

/** The path of a request, without its query. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const query = url.indexOf("?");
  return query === -1 ? url : url.slice(0, query);
}

/** `text` cut to `length` characters, with an ellipsis when cut. */
export function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}
