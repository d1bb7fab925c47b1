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
        await runIncident(this.context, incidentId);
        failures = 0;
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
