import { z } from "zod";

/** An RFC 3339 timestamp, as every time in the spec is written (`2026-08-20T10:15:30.123Z`). */
export const Timestamp = z.iso.datetime({ offset: true });
export type Timestamp = z.infer<typeof Timestamp>;

/** A flat label or annotation map, as Prometheus and Alertmanager use them. */
export const StringMap = z.record(z.string(), z.string());
export type StringMap = z.infer<typeof StringMap>;

/** Any JSON value. Used for adapter-specific details kept in the audit trail. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export const JsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(JsonValue),
    z.record(z.string(), JsonValue),
  ]),
);

/** A JSON object. Adapter specifics live under a key named after the adapter (`{ github: { ... } }`). */
export const JsonObject = z.record(z.string(), JsonValue);
export type JsonObject = z.infer<typeof JsonObject>;

/**
 * The name of an action: `none`, `rollback`, `scale_up`, or one a platform team adds
 * (lowercase snake case, so it is safe in branch names, metrics and Rego).
 */
export const ActionName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,62}$/, "lowercase snake_case, at most 63 characters");
export type ActionName = z.infer<typeof ActionName>;

/** Options every call into an extension receives. */
export interface CallOptions {
  /** Aborted when the controller gives up on the call (timeout, shutdown). Honour it. */
  readonly signal: AbortSignal;
}
