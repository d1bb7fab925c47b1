import { type Decision, type DecisionInput, SelfHealError } from "@selfheal/core";
import { type DecisionCall, decisionFrom, decisionsFrom, OpaUnavailableError } from "./opa-answer.js";
import type { OpaExchange, OpaRequest } from "./opa-transport.js";

/** How {@link opaBatcher} groups decisions; see `OpaPolicySettings.batch`. */
export interface BatchSettings {
  /** Requests in flight at once; decisions that arrive meanwhile wait and go together. */
  readonly maxRequests: number;
  /** Decisions in one request at most. */
  readonly maxSize: number;
  /** Time limit of one decision from `decide()`, waiting included, in milliseconds. */
  readonly timeoutMs: number;
  /** The single rule (`POST /v1/data/selfheal/decision`), for a decision that goes alone. */
  readonly single: { readonly path: string; readonly call: DecisionCall };
  /** The batch rule (`POST /v1/data/selfheal/decisions`), for two or more. */
  readonly batch: { readonly path: string; readonly call: DecisionCall };
  /** Sends one request; the signal stops it (every decision in it has ended). */
  readonly send: (request: OpaRequest, signal: AbortSignal) => Promise<OpaExchange>;
}

/** One decision asked for, until it is answered, fails, times out or its caller gives up. */
interface Waiting {
  readonly input: DecisionInput;
  readonly started: number;
  readonly signal: AbortSignal;
  readonly resolve: (answer: { decision: Decision; serverMs?: number; attempts: number }) => void;
  readonly reject: (error: unknown) => void;
  settled: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  onAbort: (() => void) | undefined;
  /** The request carrying it, once sent: aborted when all its decisions have ended early. */
  request: InFlight | undefined;
}

interface InFlight {
  readonly items: readonly Waiting[];
  readonly controller: AbortController;
}

/** What one decision got: the decision, OPA's own time for its request, and the attempts. */
export interface BatchAnswer {
  readonly decision: Decision;
  readonly serverMs?: number;
  readonly attempts: number;
}

/**
 * Groups decisions that wait into one request: at most `maxRequests` requests are in flight, and
 * when one ends, everything that arrived meanwhile (up to `maxSize`) goes in the next one. A
 * decision that finds a request free goes at once and alone, to the single rule; so with light
 * traffic OPA sees exactly the requests it would see without batching, and under a burst the cost
 * of a request (HTTP, parsing, OPA's handler) is shared by the decisions in it.
 */
export function opaBatcher(settings: BatchSettings): {
  decide(input: DecisionInput, signal: AbortSignal): Promise<BatchAnswer>;
} {
  const queue: Waiting[] = [];
  let inFlight = 0;

  function settle(item: Waiting): boolean {
    if (item.settled) return false;
    item.settled = true;
    clearTimeout(item.timer);
    if (item.onAbort !== undefined) item.signal.removeEventListener("abort", item.onAbort);
    const request = item.request;
    if (request?.items.every((other) => other.settled)) {
      request.controller.abort(new Error("every decision of this request has ended"));
    }
    return true;
  }

  function fail(item: Waiting, error: unknown): void {
    if (settle(item)) item.reject(error);
  }

  function pump(): void {
    while (inFlight < settings.maxRequests && queue.length > 0) {
      const items = queue.splice(0, settings.maxSize).filter((item) => !item.settled);
      if (items.length === 0) continue;
      inFlight++;
      void send(items).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  async function send(items: Waiting[]): Promise<void> {
    const request: InFlight = { items, controller: new AbortController() };
    for (const item of items) item.request = request;
    const alone = items.length === 1;
    const target = alone ? settings.single : settings.batch;
    const body = alone
      ? JSON.stringify({ input: items[0]?.input })
      : JSON.stringify({ input: { batch: items.map((item) => item.input) } });
    const exchange = await settings.send(
      { method: "POST", path: target.path, body },
      request.controller.signal,
    );
    let serverMs: number | undefined;
    const call: DecisionCall = {
      ...target.call,
      onServerTime: (nanoseconds) => {
        serverMs = nanoseconds / 1e6;
      },
    };
    let decisions: Decision[];
    try {
      decisions = alone ? [decisionFrom(exchange, call)] : decisionsFrom(exchange, call, items.length);
    } catch (error) {
      for (const item of items) fail(item, error);
      return;
    }
    items.forEach((item, index) => {
      const decision = decisions[index] as Decision;
      if (!settle(item)) return;
      item.resolve(
        serverMs === undefined
          ? { decision, attempts: exchange.attempts }
          : { decision, serverMs, attempts: exchange.attempts },
      );
    });
  }

  return {
    decide(input, signal) {
      return new Promise<BatchAnswer>((resolve, reject) => {
        const item: Waiting = {
          input,
          started: performance.now(),
          signal,
          resolve,
          reject,
          settled: false,
          timer: undefined,
          onAbort: undefined,
          request: undefined,
        };
        const call = settings.single.call;
        if (signal.aborted) {
          reject(cancelled(call));
          return;
        }
        item.onAbort = () => fail(item, cancelled(call));
        signal.addEventListener("abort", item.onAbort, { once: true });
        item.timer = setTimeout(() => {
          const waited = item.request === undefined ? ", waiting for a free request" : "";
          fail(
            item,
            new OpaUnavailableError(
              `policy ${call.name} could not decide: timeout after ${call.timeoutMs} ms${waited} (${call.request}, batched)`,
              { url: call.request },
            ),
          );
        }, settings.timeoutMs);
        queue.push(item);
        pump();
      });
    },
  };
}

function cancelled(call: DecisionCall): SelfHealError {
  return new SelfHealError(
    `policy ${call.name}: cancelled by the caller before OPA answered (${call.request})`,
    {
      adapter: "opa",
      operation: "decide",
      url: call.request,
    },
  );
}
