import { type JsonObject, toMs } from "@selfheal/core";
import type { ChangeParams } from "./plan-change.js";
import type { ReplicaSource } from "./replica-source.js";

/**
 * The parameters of a scale change: `params.replicas`, or the current count moved by
 * `params.by` (default 1), written where {@link replicaSource} says the count lives (an HPA's
 * `minReplicas`, a Helm value or `spec.replicas`). The target is bounded by the lowest of the
 * HPA's `maxReplicas`, the configured cap and the input's `max_replicas`. A scale-up may carry
 * `params.ttl`.
 */
export function resolveScale(options: {
  readonly action: "scale_up" | "scale_down";
  readonly params: JsonObject;
  readonly source: ReplicaSource;
  readonly maxReplicas: number | undefined;
  readonly inputMax: number | undefined;
  readonly fail: (message: string) => Error;
}): ChangeParams {
  const { source } = options;
  const up = options.action === "scale_up";
  const step = numberParam(options.params.by, 1);
  const wanted = options.params.replicas;
  const ttlMs = up ? ttlParam(options.params.ttl, options.fail) : undefined;
  if (source.value === undefined)
    throw options.fail(`${source.field} is not written in ${source.file}: nothing to change`);
  const from = source.value;
  const to = typeof wanted === "number" ? wanted : up ? from + step : from - step;
  const bounds = [
    source.hpa === undefined
      ? undefined
      : {
          cap: source.hpa.maxReplicas,
          name: `HPA ${source.hpa.name} (maxReplicas ${source.hpa.maxReplicas})`,
        },
    options.maxReplicas === undefined ? undefined : { cap: options.maxReplicas, name: "the replica cap" },
    options.inputMax === undefined ? undefined : { cap: options.inputMax, name: "the input's max_replicas" },
  ].filter((bound) => bound !== undefined);
  const lowest = bounds.reduce<(typeof bounds)[number] | undefined>(
    (low, bound) => (low === undefined || bound.cap < low.cap ? bound : low),
    undefined,
  );
  checkReplicas(up, to, from, lowest?.cap ?? Number.POSITIVE_INFINITY, lowest?.name ?? "", options.fail);
  return {
    action: options.action,
    file: source.file,
    field: source.field,
    from,
    to,
    ...(ttlMs === undefined ? {} : { ttlMs }),
  };
}

function numberParam(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : fallback;
}

function ttlParam(value: unknown, fail: (message: string) => Error): number | undefined {
  if (value === undefined) return undefined;
  try {
    const ms =
      typeof value === "number" ? value : typeof value === "string" ? toMs(value, "ttl") : Number.NaN;
    if (Number.isFinite(ms) && ms > 0) return ms;
  } catch {
    // reported below
  }
  throw fail(
    `decision params.ttl must be a positive duration ("2h") or milliseconds, not ${JSON.stringify(value)}`,
  );
}

function checkReplicas(
  up: boolean,
  to: number,
  from: number,
  cap: number,
  capName: string,
  fail: (message: string) => Error,
): void {
  if (!Number.isInteger(to) || to < 1) throw fail(`replicas must be a whole number ≥ 1, not ${to}`);
  if (up && to <= from) throw fail(`scale up to ${to} is not above the current ${from}`);
  if (!up && to >= from) throw fail(`scale down to ${to} is not below the current ${from}`);
  if (to > cap) throw fail(`scale to ${to} is above ${capName}: ${cap}`);
}
