import { describeError, SelfHealError, TimeoutError } from "../errors/selfheal-error.js";
import type { Notification, Notifier } from "../spec/notifier.js";
import { sleep as sleepFor, timeLimitedSignal } from "../util/async.js";
import type { Logger } from "../util/logger.js";
import { createRedactor, type Redactor } from "../util/redact.js";

/** How sending one notification through one notifier ended. */
export interface NotificationOutcome {
  /** The notifier's name. */
  readonly notifier: string;
  readonly kind: Notification["kind"];
  readonly incidentId: string;
  /** True when the notifier accepted the notification. */
  readonly ok: boolean;
  /** Why it failed, credentials redacted. Absent when `ok`. */
  readonly error?: string;
  /** Calls made, retries included. */
  readonly attempts: number;
}

/** Options of {@link createNotificationDispatcher}. */
export interface NotificationDispatcherOptions {
  /** Where notifications go; each gets those of its `kinds`. */
  readonly notifiers: readonly Notifier[];
  /** Where failures and retries are logged. */
  readonly logger: Logger;
  /**
   * Called once per notifier and notification with how it ended (the controller turns failures
   * into `notification.failed` audit events). Its errors are logged, never thrown.
   */
  readonly record: (outcome: NotificationOutcome) => Promise<void> | void;
  /**
   * Retries after a retryable failure (429, 5xx, timeout, network). Other failures are not retried.
   * @default 2
   */
  readonly retries?: number;
  /**
   * Time limit of one notifier call, in milliseconds. A notifier that ignores its signal is
   * given up on all the same.
   * @default 5000
   */
  readonly timeoutMs?: number;
  /**
   * Waits between retries; rejects when the signal aborts. Injected by tests.
   * @default `sleep` of the core utilities
   */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * Redacts each notification (title, text, links and the incident it carries) before any
   * notifier sees it, and every failure message. The controller passes its own, which knows
   * its configured secrets.
   * @default createRedactor() (known credential shapes only)
   */
  readonly redactor?: Redactor;
}

/** Sends notifications in the background. */
export interface NotificationDispatcher {
  /**
   * Hand a notification to every notifier whose `kinds` include its kind. Returns at once and
   * never throws: delivery, retries and failures happen in the background and end in `record`.
   * The whole notification (title, text, links, incident) is redacted before any notifier sees it.
   */
  send(notification: Notification): void;
  /**
   * Wait for the sends in flight (on graceful close). After `timeoutMs` the ones still running
   * are aborted (they are then recorded as failed) and it resolves. Never rejects.
   * @default timeoutMs 10000
   */
  drain(timeoutMs?: number): Promise<void>;
}

/** First wait before a retry; doubled for each further retry, with ±20 % jitter. */
const baseBackoffMs = 500;

/**
 * A dispatcher that sends each notification to its notifiers in the background, each call
 * bounded by a timeout, retryable failures retried with backoff. A notifier that fails or
 * hangs never blocks the caller or the other notifiers.
 */
export function createNotificationDispatcher(options: NotificationDispatcherOptions): NotificationDispatcher {
  const { logger } = options;
  const retries = Math.max(0, Math.floor(options.retries ?? 2));
  const timeoutMs = options.timeoutMs ?? 5000;
  const sleep = options.sleep ?? sleepFor;
  const { redact, redactDeep } = options.redactor ?? createRedactor();
  /** Every delivery still running, with the controller that aborts it. */
  const inFlight = new Map<Promise<void>, AbortController>();

  function send(notification: Notification): void {
    try {
      const safe = redactDeep(notification);
      for (const notifier of options.notifiers) {
        if (notifier.kinds !== undefined && !notifier.kinds.includes(safe.kind)) continue;
        const abort = new AbortController();
        // Start on a later tick so a notifier that works synchronously cannot hold up the caller.
        const task: Promise<void> = Promise.resolve()
          .then(() => deliver(notifier, safe, abort.signal))
          .catch((error: unknown) => {
            logger.error("notification dispatcher failed", {
              notifier: notifier.name,
              error: redact(describeError(error)),
            });
          })
          .finally(() => inFlight.delete(task));
        inFlight.set(task, abort);
      }
    } catch (error) {
      logger.error("notification could not be dispatched", { error: redact(describeError(error)) });
    }
  }

  async function deliver(notifier: Notifier, notification: Notification, abort: AbortSignal): Promise<void> {
    const base = { notifier: notifier.name, kind: notification.kind, incidentId: notification.incident.id };
    let attempts = 0;
    let ok = false;
    let failure: unknown;
    while (true) {
      attempts += 1;
      try {
        await callNotifier(notifier, notification, abort, timeoutMs);
        ok = true;
        break;
      } catch (error) {
        failure = error;
      }
      const retryable = SelfHealError.isInstance(failure) && failure.retryable && !abort.aborted;
      if (!retryable || attempts > retries) break;
      const wait = Math.round(baseBackoffMs * 2 ** (attempts - 1) * (0.8 + Math.random() * 0.4));
      logger.debug("notification failed, retrying", {
        ...base,
        attempts,
        retryInMs: wait,
        error: redact(describeError(failure)),
      });
      try {
        await sleep(wait, abort);
      } catch {
        break;
      }
    }

    let outcome: NotificationOutcome;
    if (ok) {
      outcome = { ...base, ok: true, attempts };
      logger.debug("notification sent", { ...base, attempts });
    } else {
      const error = redact(describeError(failure));
      outcome = { ...base, ok: false, error, attempts };
      logger.warn("notification failed", { ...base, attempts, error: redactDeep(failure) });
    }
    try {
      await options.record(outcome);
    } catch (error) {
      logger.error("notification outcome could not be recorded", {
        ...base,
        error: redact(describeError(error)),
      });
    }
  }

  async function drain(drainTimeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + drainTimeoutMs;
    // Deliveries may start while draining (a notification sent from a closing incident): wait for those too.
    while (inFlight.size > 0) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const stopTimer = new AbortController();
      const timer = sleepFor(remaining, stopTimer.signal).then(
        () => "timeout" as const,
        () => "settled" as const,
      );
      const settled = Promise.allSettled([...inFlight.keys()]).then(() => "settled" as const);
      const first = await Promise.race([settled, timer]);
      stopTimer.abort();
      if (first === "timeout") break;
    }
    if (inFlight.size === 0) return;
    logger.warn("notifications still in flight at drain timeout: aborting them", {
      inFlight: inFlight.size,
      timeoutMs: drainTimeoutMs,
    });
    for (const abort of inFlight.values()) abort.abort(new Error("notification dispatcher drained"));
  }

  return { send, drain };
}

/**
 * One notifier call bounded by the timeout and the dispatcher's abort, even when the notifier
 * ignores its signal.
 */
async function callNotifier(
  notifier: Notifier,
  notification: Notification,
  abort: AbortSignal,
  timeoutMs: number,
): Promise<void> {
  const limited = timeLimitedSignal(abort, timeoutMs);
  const { signal } = limited;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      const reason: unknown = signal.reason;
      reject(
        reason instanceof Error && reason.name === "TimeoutError"
          ? new TimeoutError(`notifier ${notifier.name} did not finish within ${timeoutMs} ms`, {
              adapter: notifier.name,
              operation: "notify",
              incidentId: notification.incident.id,
            })
          : new SelfHealError(`notifier ${notifier.name}: aborted`, {
              adapter: notifier.name,
              operation: "notify",
              incidentId: notification.incident.id,
              cause: reason,
            }),
      );
    };
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
  try {
    await Promise.race([notifier.notify(notification, { signal }), aborted]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
    limited.done();
  }
}
