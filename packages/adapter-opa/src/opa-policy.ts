import {
  BadInputError,
  type CallOptions,
  type Decision,
  type DecisionInput,
  type Policy,
} from "@selfheal/core";
import type { Dispatcher } from "undici";
import { decisionFrom } from "./opa-answer.js";
import { opaBatcher } from "./opa-batcher.js";
import { opaTransport } from "./opa-transport.js";

/** Settings of {@link opaPolicy}. No option is read from the environment. */
export interface OpaPolicySettings {
  /** Base URL of OPA (`http://opa:8181`, or with a path prefix behind a proxy). Required. */
  readonly url: string;
  /**
   * The rule to evaluate, as a package path with `/` (`selfheal/decision` →
   * `POST /v1/data/selfheal/decision`).
   * @default "selfheal/decision"
   */
  readonly path?: string;
  /**
   * Sent as `Authorization: Bearer <token>` (OPA started with `--authentication=token`); empty or
   * undefined sends none.
   * @default none
   */
  readonly token?: string | undefined;
  /**
   * The undici dispatcher requests go through (a proxy agent, a shared pool, a test double). It is
   * not closed by `close()`.
   * @default a keep-alive `undici.Pool` for the URL's origin, one per policy, closed by `close()`
   */
  readonly dispatcher?: Dispatcher;
  /**
   * Certificate authorities (PEM) to trust for an `https://` URL, instead of Node's bundled ones:
   * an OPA whose certificate a private CA signed. Not together with `dispatcher`.
   * @default Node's bundled CAs
   */
  readonly ca?: string | readonly string[];
  /**
   * Time limit of one decision in milliseconds, retries included. Keep it below the controller's
   * `policyTimeout` so the reason recorded is this adapter's, not a bare timeout.
   * @default 2000
   */
  readonly timeoutMs?: number;
  /**
   * Further attempts after a connection error or a 5xx answer (never after a 4xx), as long as the
   * time limit leaves room.
   * @default 2
   */
  readonly retries?: number;
  /**
   * Pause before the first retry in milliseconds; doubled for each further one.
   * @default 50
   */
  readonly retryDelayMs?: number;
  /**
   * What `ready()` asks of `GET /health`: `bundles` waits for the initial bundle activation,
   * `plugins` for every plugin to be OK.
   * @default {} (plain `GET /health`)
   */
  readonly health?: { readonly bundles?: boolean; readonly plugins?: boolean };
  /**
   * Name recorded with every decision.
   * @default `opa:${path}`
   */
  readonly name?: string;
  /**
   * Decide several incidents in one request when decisions wait for OPA (an alert storm): `path`
   * is the package path of a rule that answers `input.batch`, a list of DecisionInputs, with their
   * decisions in the same order (the shipped policy's `selfheal/decisions`). At most
   * `maxRequests` requests are then in flight; decisions that arrive meanwhile wait, and the next
   * request carries all of them (up to `maxSize`). A decision that finds a request free goes at
   * once and alone to `path` above, so with light traffic OPA's decision log holds one entry per
   * decision; a batched decision's `decision_id` is OPA's id of the request followed by `#index`
   * (its place in `input.batch`). `timeoutMs` counts from `decide()`, waiting included.
   * @default none: one request per decision, as many in flight as the callers ask
   */
  readonly batch?: {
    readonly path: string;
    /** @default 1: OPA evaluates one batch while the controller prepares the next */
    readonly maxRequests?: number;
    /** @default 32 */
    readonly maxSize?: number;
  };
  /**
   * Called after each decision OPA answered, with how long it took as this client saw it and as
   * OPA measured it. Given, every request asks for OPA's metrics (`?metrics=true`).
   * @default none (no metrics asked)
   */
  readonly onTiming?: (timing: OpaTiming) => void;
}

/** How long one decision took; see `OpaPolicySettings.onTiming`. */
export interface OpaTiming {
  /** From the call of `decide()` to its answer, retries and parsing included, in milliseconds. */
  readonly totalMs: number;
  /**
   * OPA's own time for the request (`metrics.timer_server_handler_ns`), in milliseconds;
   * absent when OPA sent no metrics (an error answer). For a batched decision it is the time of
   * the whole request that carried it. `totalMs - serverMs` is this client's share
   * and the network's.
   */
  readonly serverMs?: number;
  /** Attempts made (1 unless retried). */
  readonly attempts: number;
}

/** A policy evaluated by OPA; `ready()` asks OPA's `/health`. */
export interface OpaPolicy extends Policy {
  /** Always a `Decision`: failures of OPA or of the connection fail closed, never throw. */
  decide(input: DecisionInput, options: CallOptions): Promise<Decision>;
  /** `true` only when `GET /health` answers 200 within the time limit. */
  ready(options: CallOptions): Promise<boolean>;
  /** Close the connection pool this policy created (an injected dispatcher is left open). */
  close(): Promise<void>;
}

const pathPattern = /^[A-Za-z_][A-Za-z0-9_]*(\/[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * A `Policy` that asks Open Policy Agent through its REST Data API
 * (`POST /v1/data/{path}` with `{"input": ...}`). It fails closed: an undefined document, a 4xx
 * answer, or a result that is not a `Decision` yield `{ action: "none", escalate: true }` with a
 * reason saying what went wrong and where. OPA that cannot answer (a timeout, unreachable, a 5xx
 * or 429 after the retries) rejects with a retryable `OpaUnavailableError`: the controller records
 * it as a failed decision and decides the incident again while its alert fires.
 *
 * @throws BadInputError when a setting is unusable (at creation, never while deciding).
 */
export function opaPolicy(settings: OpaPolicySettings): OpaPolicy {
  const path = (settings.path ?? "selfheal/decision").replace(/^\/+|\/+$/g, "");
  if (!pathPattern.test(path)) {
    throw new BadInputError(`opa: path must be a package path such as selfheal/decision, got "${path}"`, {
      adapter: "opa",
      path: "path",
    });
  }
  const timeoutMs = settings.timeoutMs ?? 2000;
  const retries = settings.retries ?? 2;
  const retryDelayMs = settings.retryDelayMs ?? 50;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) invalid("timeoutMs", "a positive number");
  if (!(Number.isInteger(retries) && retries >= 0)) invalid("retries", "an integer ≥ 0");
  if (!(Number.isFinite(retryDelayMs) && retryDelayMs >= 0)) invalid("retryDelayMs", "a number ≥ 0");
  const name = settings.name ?? `opa:${path}`;
  if (name === "") invalid("name", "a non-empty string");
  const batchPath = settings.batch?.path.replace(/^\/+|\/+$/g, "");
  if (batchPath !== undefined && !pathPattern.test(batchPath)) invalid("batch.path", "a package path");
  const maxRequests = settings.batch?.maxRequests ?? 1;
  const maxSize = settings.batch?.maxSize ?? 32;
  if (!(Number.isInteger(maxRequests) && maxRequests >= 1)) invalid("batch.maxRequests", "an integer ≥ 1");
  if (!(Number.isInteger(maxSize) && maxSize >= 2)) invalid("batch.maxSize", "an integer ≥ 2");

  const transport = opaTransport({
    url: settings.url,
    token: settings.token,
    dispatcher: settings.dispatcher,
    ca: settings.ca,
    timeoutMs,
    retries,
    retryDelayMs,
  });
  const onTiming = settings.onTiming;
  const dataPath = `/v1/data/${path}${onTiming === undefined ? "" : "?metrics=true"}`;
  const call = { name, path, request: `POST ${transport.safeUrl}/v1/data/${path}`, timeoutMs };
  const batcher =
    batchPath === undefined
      ? undefined
      : opaBatcher({
          maxRequests,
          maxSize,
          timeoutMs,
          single: { path: dataPath, call },
          batch: {
            path: `/v1/data/${batchPath}${onTiming === undefined ? "" : "?metrics=true"}`,
            call: { ...call, path: batchPath, request: `POST ${transport.safeUrl}/v1/data/${batchPath}` },
          },
          send: (request, signal) => transport.exchange(request, signal),
        });
  const healthQuery = new URLSearchParams();
  if (settings.health?.bundles === true) healthQuery.append("bundles", "");
  if (settings.health?.plugins === true) healthQuery.append("plugins", "");
  // `?bundles` rather than `?bundles=`: the form OPA's docs show.
  const healthPath = `/health${healthQuery.size === 0 ? "" : `?${[...healthQuery.keys()].join("&")}`}`;

  return {
    name,
    async decide(input, options) {
      const started = performance.now();
      if (batcher !== undefined) {
        const answer = await batcher.decide(input, options.signal);
        onTiming?.({
          totalMs: performance.now() - started,
          attempts: answer.attempts,
          ...(answer.serverMs === undefined ? {} : { serverMs: answer.serverMs }),
        });
        return answer.decision;
      }
      const exchange = await transport.exchange(
        { method: "POST", path: dataPath, body: JSON.stringify({ input }) },
        options.signal,
      );
      if (onTiming === undefined) return decisionFrom(exchange, call);
      let serverMs: number | undefined;
      const decision = decisionFrom(exchange, {
        ...call,
        onServerTime: (nanoseconds) => {
          serverMs = nanoseconds / 1e6;
        },
      });
      const totalMs = performance.now() - started;
      onTiming(
        serverMs === undefined
          ? { totalMs, attempts: exchange.attempts }
          : { totalMs, serverMs, attempts: exchange.attempts },
      );
      return decision;
    },
    async ready(options) {
      const exchange = await transport.exchange({ method: "GET", path: healthPath }, options.signal);
      return exchange.kind === "answered" && exchange.status === 200;
    },
    close: () => transport.close(),
  };
}

function invalid(key: string, expected: string): never {
  throw new BadInputError(`opa: ${key} must be ${expected}`, { adapter: "opa", path: key });
}
