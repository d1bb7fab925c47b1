// Shared pieces of bench/store: the events appended and how writers run.
import type { AuditEvent } from "@selfheal/core";

/** Audit events as the controller writes them: a message and a small data object. */
export function makeEvents(count: number, prefix: string): AuditEvent[] {
  const types = ["incident.state", "notification.sent", "enrich.completed", "guardrail.passed"] as const;
  const start = Date.UTC(2030, 0, 1);
  return Array.from({ length: count }, (_, index) => {
    const incident = index % 500;
    const service = `svc-${incident % 50}`;
    return {
      id: `${prefix}-${index}`,
      at: new Date(start + index * 10).toISOString(),
      type: types[index % types.length] as AuditEvent["type"],
      incidentId: `${service}-higherrorrate-${incident.toString(16).padStart(8, "0")}`,
      service,
      actor: "bench-1",
      message: `deciding → acting for ${service}`,
      data: {
        from: "deciding",
        to: "acting",
        metrics: { error_rate: 0.12, restart_count: 3, cpu_usage: 0.71 },
      },
    };
  });
}

/**
 * Run `items` through `work` with `writers` calls in flight; resolves the latency of each call
 * (ms) and the wall time.
 */
export async function runWriters<T>(
  items: readonly T[],
  writers: number,
  work: (item: T, writer: number) => Promise<unknown>,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      while (next < items.length) {
        const item = items[next++] as T;
        const began = performance.now();
        await work(item, writer);
        latencies.push(performance.now() - began);
      }
    }),
  );
  return { latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - started) / 1000 };
}

/** Batches of `size` out of `items`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));
