import { ForgeError } from "@selfheal/core";
import { sleep } from "@selfheal/core/internal";
import type { z } from "zod";
import { type FailureContext, toForgeError } from "./github-errors.js";
import { parseResponse } from "./github-schemas.js";

/** How one GitHub request is run. */
export interface RunOptions extends FailureContext {
  /** A request that changes something: spaced from the previous one, one at a time. */
  readonly mutation: boolean;
  readonly signal: AbortSignal;
}

/** Runs a forge's requests: retries, mutation spacing. One per forge instance. */
export interface RequestRunner {
  run<T>(options: RunOptions, request: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

/** How a runner behaves. */
export interface RequestRunnerConfig {
  readonly minMutationIntervalMs: number;
  readonly maxAttempts: number;
  readonly maxRetryDelayMs: number;
}

/** Back-off for a 5xx or a lost connection, which names no delay: 1 s, 2 s, 4 s, … */
const unavailableBackoffMs = (attempt: number) => 1000 * 2 ** (attempt - 1);

/**
 * A runner that tries each request up to `maxAttempts` times when GitHub rate limits or
 * fails, waiting what GitHub advises (never past the call's signal), and that sends mutations
 * one at a time, at least `minMutationIntervalMs` apart. The queue lives in the returned object:
 * two forges (two tokens, two hosts) never slow each other down.
 */
export function createRequestRunner(config: RequestRunnerConfig): RequestRunner {
  // The tail of the mutation queue, and when the last mutation finished (monotonic clock).
  let mutationTail: Promise<void> = Promise.resolve();
  let lastMutationEndedAt = Number.NEGATIVE_INFINITY;

  async function attemptAll<T>(options: RunOptions, request: (signal: AbortSignal) => Promise<T>) {
    for (let attempt = 1; ; attempt++) {
      if (options.mutation) {
        const wait = lastMutationEndedAt + config.minMutationIntervalMs - performance.now();
        if (wait > 0) await abortable(wait, options);
      }
      let failure: ForgeError;
      try {
        return await request(options.signal);
      } catch (error) {
        failure = toForgeError(error, options);
      } finally {
        if (options.mutation) lastMutationEndedAt = performance.now();
      }
      if (options.signal.aborted) throw aborted(options, failure);
      // `retryable` is set for rate limits and outages, not for an answer of the wrong shape.
      if (!failure.retryable || attempt >= config.maxAttempts) throw failure;
      const delay = failure.retryAfterMs ?? unavailableBackoffMs(attempt);
      // A limit that resets in an hour is for the caller to schedule, not for us to sleep through.
      if (delay > config.maxRetryDelayMs) throw failure;
      await abortable(delay, options, failure);
    }
  }

  return {
    async run(options, request) {
      if (!options.mutation) return attemptAll(options, request);
      // Mutations queue behind each other in arrival order. A mutation leaves the queue when it
      // settles or its caller gives up waiting; the next one still waits for all before it.
      const previous = mutationTail;
      let leave!: () => void;
      const ours = new Promise<void>((resolve) => {
        leave = resolve;
      });
      mutationTail = Promise.all([previous, ours]).then(() => undefined);
      try {
        await untilAborted(previous, options);
        return await attemptAll(options, request);
      } finally {
        leave();
      }
    },
  };
}

/**
 * Run one request with `runner` and check its `data` against `schema`. The request stays a
 * `client.request(route, …)` call at the call site, so Octokit still types the route's parameters.
 */
export function send<T>(
  runner: RequestRunner,
  options: RunOptions,
  schema: z.ZodType<T>,
  request: (signal: AbortSignal) => Promise<{ readonly data: unknown }>,
): Promise<T> {
  return runner.run(options, async (signal) =>
    parseResponse(schema, (await request(signal)).data, options.operation),
  );
}

function untilAborted(waitFor: Promise<void>, options: RunOptions): Promise<void> {
  if (options.signal.aborted) return Promise.reject(aborted(options, undefined));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(aborted(options, undefined));
    options.signal.addEventListener("abort", onAbort, { once: true });
    void waitFor.then(() => {
      options.signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}

async function abortable(ms: number, options: RunOptions, last?: ForgeError): Promise<void> {
  try {
    await sleep(ms, options.signal);
  } catch {
    throw aborted(options, last);
  }
}

function aborted(options: RunOptions, last: ForgeError | undefined): ForgeError {
  return new ForgeError(`GitHub ${options.operation} aborted by the caller`, {
    kind: last?.kind ?? "unavailable",
    adapter: "github",
    operation: options.operation,
    ...(last?.status === undefined ? {} : { status: last.status }),
    ...(last?.url === undefined ? {} : { url: last.url }),
    ...(last?.retryAfterMs === undefined ? {} : { retryAfterMs: last.retryAfterMs }),
    cause: last ?? options.signal.reason,
  });
}
