import type { Controller, Incident } from "@selfheal/core";
import type { LocalForge } from "@selfheal/gitops/testing";

/** Options of {@link untilClosed}. */
export interface UntilClosedOptions {
  /**
   * How long to wait for the incident to close, in milliseconds.
   * @default 60000
   */
  readonly timeoutMs?: number;
  /**
   * Merge the forge's open change requests while the incident awaits a merge (the reviewer's part).
   * @default false
   */
  readonly merge?: boolean;
  /**
   * How often to look at the store, in milliseconds.
   * @default 100
   */
  readonly pollMs?: number;
  /**
   * Wait for the first incident of this alert (`HighCPU`) instead of the first of all.
   * @default any alert
   */
  readonly alertname?: string;
}

/** What {@link untilClosed} found. */
export interface ClosedIncident {
  /** The incident waited for, read again once the controller settled. */
  readonly incident: Incident;
  /** Change requests merged while waiting (with `merge: true`). */
  readonly merged: number;
}

/**
 * Wait until the controller's first incident (of `alertname`, when given) closes and the
 * controller has settled, merging the
 * forge's open change requests meanwhile with `merge: true`; rejects after `timeoutMs` with the
 * incident's last state.
 */
export async function untilClosed(
  controller: Controller,
  forge: LocalForge | undefined,
  options: UntilClosedOptions = {},
): Promise<ClosedIncident> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const until = Date.now() + timeoutMs;
  let merged = 0;
  for (;;) {
    // Newest first: the first incident is the last one listed.
    const incident = (await controller.store.listIncidents())
      .filter((found) => options.alertname === undefined || found.alertname === options.alertname)
      .at(-1);
    if (incident?.closedAt !== undefined) {
      await controller.settled();
      return { incident: (await controller.store.getIncident(incident.id)) ?? incident, merged };
    }
    if (options.merge === true && incident?.state === "awaiting_merge") {
      for (const request of forge?.requests ?? []) {
        if (request.state !== "open") continue;
        await forge?.merge(request.id, { signal: AbortSignal.timeout(10_000) });
        merged++;
      }
    }
    if (Date.now() > until) {
      throw new Error(
        `no closed incident within ${timeoutMs / 1000} s; last state ${incident?.state ?? "none"}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
  }
}
