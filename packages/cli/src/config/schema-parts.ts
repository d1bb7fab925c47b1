import { toMs } from "@selfheal/core";
import { z } from "zod";

/** A length of time: milliseconds, or a string such as `"500ms"`, `"30s"`, `"30m"`, `"1h30m"`. */
export const DurationConfig = z.union([
  z.number().nonnegative(),
  z.string().refine(
    (text) => {
      try {
        toMs(text);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'expected a duration such as "500ms", "30s", "30m" or "1h30m"' },
  ),
]);
export type DurationConfig = z.infer<typeof DurationConfig>;

/** A URL over HTTP(S). */
export const HttpUrl = z
  .string()
  .refine((text) => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol), {
    message: "expected an http:// or https:// URL",
  });

/** A TCP port (0 lets the system choose one). */
export const Port = z.number().int().min(0).max(65_535);

/** Labels or alert names to values (PromQL per metric, expression per alert). */
export const StringMap = z.record(z.string(), z.string());

/** Kinds of notification a notifier sends. */
export const NotificationKinds = z.array(
  z.enum(["remediated", "resolved", "failed", "escalated", "suppressed"]),
);

/**
 * Exactly one of `keys` must be set: used by sections that choose one implementation
 * (`policy: { builtin }` or `policy: { opa }`). Reported at the section, naming the choices.
 */
export function exactlyOne<T extends Record<string, unknown>>(keys: readonly (keyof T & string)[]) {
  return (value: T, context: z.RefinementCtx) => {
    const set = keys.filter((key) => value[key] !== undefined);
    if (set.length === 1) return;
    context.addIssue({
      code: "custom",
      message:
        set.length === 0
          ? `expected one of: ${keys.join(", ")}`
          : `expected only one of: ${keys.join(", ")} (found ${set.join(", ")})`,
    });
  };
}
