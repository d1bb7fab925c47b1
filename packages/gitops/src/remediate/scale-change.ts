import { type JsonObject, toMs } from "@selfheal/core";
import type { WorkloadLocation } from "../locate/locate-workload.js";
import type { ChangeParams } from "./plan-change.js";

/**
 * The parameters of a scale change: `params.replicas`, or the current count moved by
 * `params.by` (default 1). Where an HPA targets the workload its `minReplicas` is the field (a
 * count in git fights an HPA), bounded by its `maxReplicas`; otherwise `spec.replicas`, bounded
 * by the configured cap and the input's `max_replicas`. A scale-up may carry `params.ttl`.
 */
export function resolveScale(options: {
  readonly action: "scale_up" | "scale_down";
  readonly params: JsonObject;
  readonly location: WorkloadLocation;
  readonly maxReplicas: number | undefined;
  readonly inputMax: number | undefined;
  readonly fail: (message: string) => Error;
}): ChangeParams {
  const up = options.action === "scale_up";
  const step = numberParam(options.params.by, 1);
  const wanted = options.params.replicas;
  const ttlMs = up ? ttlParam(options.params.ttl, options.fail) : undefined;
  const extra = ttlMs === undefined ? {} : { ttlMs };
  const target = (from: number) => (typeof wanted === "number" ? wanted : up ? from + step : from - step);
  if (options.location.hpa !== undefined) {
    const from = options.location.hpa.minReplicas ?? 1;
    const to = target(from);
    const cap = Math.min(options.location.hpa.maxReplicas, options.maxReplicas ?? Number.POSITIVE_INFINITY);
    checkReplicas(
      up,
      to,
      from,
      cap,
      `HPA ${options.location.hpa.name} (maxReplicas ${options.location.hpa.maxReplicas})`,
      options.fail,
    );
    return {
      action: options.action,
      file: options.location.hpa.path,
      field: "spec.minReplicas",
      from,
      to,
      ...extra,
    };
  }
  if (options.location.replicas === undefined)
    throw options.fail(`spec.replicas is not written in ${options.location.path}: nothing to change`);
  const from = options.location.replicas;
  const to = target(from);
  const cap = Math.min(
    options.maxReplicas ?? Number.POSITIVE_INFINITY,
    options.inputMax ?? Number.POSITIVE_INFINITY,
  );
  checkReplicas(up, to, from, cap, "the replica cap", options.fail);
  return { action: options.action, file: options.location.path, field: "spec.replicas", from, to, ...extra };
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
