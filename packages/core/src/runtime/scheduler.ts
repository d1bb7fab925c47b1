import { sleep } from "../util/async.js";
import type { RuntimeContext } from "./context.js";
import { runIncident } from "./incident-runner.js";

/**
 * Runs incidents: at most one runner per incident in this process. A signal for an incident
 * already running asks for one more pass when the current one ends; a runner that fails (the
 * store was unreachable) is retried with backoff until the controller stops.
 */
export class IncidentScheduler {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private idle: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(private readonly context: RuntimeContext) {}

  /** Incidents being worked on. */
  get size(): number {
    return this.running.size;
  }

  schedule(incidentId: string): void {
    if (this.context.stopping.aborted) return;
    if (this.running.has(incidentId)) {
      this.again.add(incidentId);
      return;
    }
    const run = this.loop(incidentId).finally(() => {
      this.running.delete(incidentId);
      if (this.running.size === 0) {
        this.idle?.resolve();
        this.idle = undefined;
      }
    });
    this.running.set(incidentId, run);
  }

  /** Incidents held by another controller, looked at again after a claim's lifetime. */
  private readonly waiting = new Map<string, NodeJS.Timeout>();

  private retryLater(incidentId: string): void {
    if (this.waiting.has(incidentId) || this.context.stopping.aborted) return;
    const delayMs = this.context.claimTtlMs * (1 + Math.random() / 4);
    const timer = setTimeout(() => {
      this.waiting.delete(incidentId);
      this.schedule(incidentId);
    }, delayMs);
    timer.unref();
    this.waiting.set(incidentId, timer);
  }

  /** Run the incident again at `atMs` (a decision retry); an earlier wake-up already set wins. */
  wakeAt(incidentId: string, atMs: number): void {
    if (this.waiting.has(incidentId) || this.context.stopping.aborted) return;
    const timer = setTimeout(
      () => {
        this.waiting.delete(incidentId);
        this.schedule(incidentId);
      },
      Math.max(0, atMs - this.context.now().getTime()),
    );
    timer.unref();
    this.waiting.set(incidentId, timer);
  }

  /** Whether this controller runs or waits on the incident. */
  knows(incidentId: string): boolean {
    return this.running.has(incidentId) || this.waiting.has(incidentId);
  }

  /** Stop waiting on incidents held elsewhere (the controller closes). */
  stopWaiting(): void {
    for (const timer of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
  }

  /** Resolves when no incident is being worked on. */
  settled(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    if (this.idle === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => {
        resolve = done;
      });
      this.idle = { promise, resolve };
    }
    return this.idle.promise;
  }

  private async loop(incidentId: string): Promise<void> {
    const { logger, stopping } = this.context;
    for (let failures = 0; !stopping.aborted; ) {
      this.again.delete(incidentId);
      try {
        const outcome = await runIncident(this.context, incidentId);
        failures = 0;
        if (outcome === "held") {
          // Another controller works on it. Look again once its claim could have lapsed: if
          // that controller died, this one takes the incident over.
          this.retryLater(incidentId);
          return;
        }
        if (!this.again.has(incidentId)) return;
      } catch (error) {
        failures++;
        const delayMs = Math.min(60_000, 500 * 2 ** Math.min(failures, 7)) * (0.5 + Math.random() / 2);
        logger.error(`incident ${incidentId}: step failed, retrying in ${Math.round(delayMs)} ms`, {
          incidentId,
          error,
        });
        await sleep(delayMs, stopping).catch(() => undefined);
      }
    }
  }
}
