import { TimeoutError } from "../errors/selfheal-error.js";

/** Resolve after `ms`, or reject when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Resolve after the event loop has polled for I/O once more. Work that can wait (deciding an
 * incident) calls this between steps, so that what is waiting on a socket (a webhook delivery
 * to acknowledge) is taken first.
 */
export function afterPendingIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A signal that aborts when `parent` does, or after `ms` with a `TimeoutError` DOMException as
 * its reason (what `AbortSignal.timeout` gives). Call `done()` when the work ends.
 *
 * Instead of `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: that composite holds its
 * sources weakly and the timeout's timer holds its signal weakly, so under garbage-collection
 * pressure the time limit can be collected and never fire (a notifier that ignored its signal
 * then hung a CI run's drain for its whole 15 s). Here the timer holds the controller.
 */
export function timeLimitedSignal(
  parent: AbortSignal | undefined,
  ms: number,
  timeoutReason: () => unknown = () =>
    new DOMException("The operation was aborted due to timeout", "TimeoutError"),
): { readonly signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const onParentAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener("abort", onParentAbort, { once: true });
  const timer = setTimeout(() => controller.abort(timeoutReason()), ms);
  return {
    signal: controller.signal,
    done() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}

/** Run `fn` with a {@link timeLimitedSignal} of `parent` and `ms`, released when `fn` settles. */
export async function withSignalTimeLimit<T>(
  parent: AbortSignal | undefined,
  ms: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const limited = timeLimitedSignal(parent, ms);
  try {
    return await fn(limited.signal);
  } finally {
    limited.done();
  }
}

/**
 * Run `fn` with an AbortSignal that fires after `ms` (or when `parent` aborts), and reject with a
 * `TimeoutError` naming `what` if `fn` has not settled by then, even if it ignores the signal.
 */
export async function withTimeout<T>(
  what: string,
  ms: number,
  fn: (signal: AbortSignal) => Promise<T> | T,
  parent?: AbortSignal,
): Promise<T> {
  let reject: (error: unknown) => void = () => {};
  const timeout = new Promise<never>((_, onTimeout) => {
    reject = onTimeout;
  });
  const limited = timeLimitedSignal(parent, ms, () => {
    const error = new TimeoutError(`${what} took longer than ${ms} ms`);
    reject(error);
    return error;
  });
  try {
    return await Promise.race([Promise.resolve().then(() => fn(limited.signal)), timeout]);
  } finally {
    limited.done();
  }
}

/** A lock for async critical sections: one holder at a time, in arrival order. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/** At most `limit` holders at once; the rest wait in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.active--;
      else next();
    }
  }
}
