import type { ServerOptions } from "node:http";
import { BadInputError } from "../errors/selfheal-error.js";
import { type Duration, toMs } from "../util/duration.js";

/** How long the webhook server waits on a client; see `ListenOptions`. */
export interface ServerTimeouts {
  /**
   * Longest time to receive the headers of one request, counted from its first byte (or from
   * the connection, for its first request). A client that trickles headers, or connects and
   * says nothing, is answered 408 and disconnected after this long.
   * @default "10s"
   */
  readonly headersTimeout?: Duration;
  /**
   * Longest time to receive one whole request (headers and body). A client that trickles its
   * body is answered 408 and disconnected after this long. Not counted once the body is in:
   * a slow store write does not cut the answer. At least `headersTimeout`.
   * @default "30s"
   */
  readonly requestTimeout?: Duration;
  /**
   * How long a kept-alive connection may stay idle between two requests. Longer than the
   * sender's own idle timeout, so the sender always closes first: Alertmanager's HTTP client
   * (prometheus/common `config/http_config.go`, `idleConnTimeout: 5 * time.Minute`) reuses an
   * idle connection for up to 5 minutes, and Node's 5 s default closed connections that
   * Alertmanager was about to reuse: its next notification failed with EOF or a reset and was
   * retried.
   * @default "310s"
   */
  readonly keepAliveTimeout?: Duration;
}

/**
 * The `node:http` server options of `timeouts`, checked: `createServer(webhookServerOptions({}),
 * controller.requestListener)` when you mount the listener in a server of your own.
 * @throws BadInputError for a timeout that is not a duration above 0, or headers allowed longer
 * than the whole request
 */
export function webhookServerOptions(timeouts: ServerTimeouts): ServerOptions {
  const headersTimeout = positiveMs(timeouts.headersTimeout ?? "10s", "listen.headersTimeout");
  const requestTimeout = positiveMs(timeouts.requestTimeout ?? "30s", "listen.requestTimeout");
  const keepAliveTimeout = positiveMs(timeouts.keepAliveTimeout ?? "310s", "listen.keepAliveTimeout");
  if (headersTimeout > requestTimeout) {
    throw new BadInputError(
      `listen.headersTimeout (${headersTimeout} ms) must not be longer than listen.requestTimeout (${requestTimeout} ms): the headers are part of the request`,
      { path: "listen.headersTimeout" },
    );
  }
  return {
    headersTimeout,
    requestTimeout,
    keepAliveTimeout,
    // Node checks both timeouts only this often (30 s by default, which would let a stalled
    // client stay up to 30 s past its limit): a few checks per headers timeout, at most 1 s apart.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
}

function positiveMs(duration: Duration, where: string): number {
  // Node wants whole milliseconds.
  const ms = Math.ceil(toMs(duration, where));
  if (!(ms > 0)) {
    throw new BadInputError(`${where} must be longer than 0, got ${JSON.stringify(duration)}`, {
      path: where,
    });
  }
  return ms;
}
