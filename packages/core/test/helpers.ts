import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Signal } from "../src/index.js";

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(
  prefix = "selfheal-test-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A firing Alertmanager-like signal; identical arguments give identical deliveries. */
export function alertSignal(overrides: Partial<Signal> = {}): Signal {
  const service = overrides.service ?? "checkout";
  const alertname = overrides.alertname ?? "HighErrorRate";
  const fingerprint = overrides.fingerprint ?? `fp-${service}-${alertname}`;
  const startsAt = overrides.startsAt ?? "2026-08-20T10:15:30.123Z";
  const status = overrides.status ?? "firing";
  return {
    source: "alertmanager",
    dedupKey: `${fingerprint}|${startsAt}|${status}`,
    status,
    alertname,
    service,
    labels: { alertname, service, severity: "critical" },
    annotations: {},
    fingerprint,
    startsAt,
    receivedAt: new Date().toISOString(),
    ...overrides,
  };
}

/** A promise with its resolve, to hold a policy or remediator until the test lets it go. */
export function latch(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Wait until `check` holds, polling; fails the test after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Rejects once `signal` aborts, also when it aborted before the call (a busy machine's order). */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
