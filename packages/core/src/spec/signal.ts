import { z } from "zod";
import { StringMap, Timestamp } from "./common.js";

/**
 * One alert occurrence as a source delivered it: the unit of intake.
 *
 * A source turns what it receives into signals; the controller folds signals into
 * incidents by their incident key (default: service + alertname). Sources deliver at
 * least once, so `dedupKey` says when two signals are the same delivery.
 */
export const Signal = z.object({
  /** Name of the source that produced it (`alertmanager`). */
  source: z.string().min(1),
  /**
   * Identity of this delivery: two signals with the same key are the same fact delivered
   * twice and are recorded once. For Alertmanager: group key + fingerprint + startsAt + status.
   */
  dedupKey: z.string().min(1),
  /** `firing` opens or feeds an incident; `resolved` may cancel an action that has not started. */
  status: z.enum(["firing", "resolved"]),
  /** The alert name (`HighErrorRate`). */
  alertname: z.string().min(1),
  /** The service the alert is about, taken from a configurable label. */
  service: z.string().min(1),
  /** The alert's labels, as the source gave them. */
  labels: StringMap,
  /** The alert's annotations, as the source gave them. */
  annotations: StringMap,
  /** Stable identity of the alert's label set (Alertmanager's 16-hex fingerprint). */
  fingerprint: z.string().min(1),
  /** When the alert started firing. */
  startsAt: Timestamp,
  /** When it ended; absent while firing (Alertmanager's zero time is not an end). */
  endsAt: Timestamp.optional(),
  /** When the controller received it. */
  receivedAt: Timestamp,
  /** Alertmanager's group key, when the source has one. */
  groupKey: z.string().optional(),
  /** Link back to the expression that produced the alert. */
  generatorUrl: z.string().optional(),
  /**
   * Alerts the sender left out of the notification that carried this signal (Alertmanager's
   * `truncatedAlerts`, set when a receiver's `max_alerts` cut the list). Absent or 0: nothing
   * was left out. The controller sees only part of the picture when it is above 0.
   */
  truncatedAlerts: z.number().int().nonnegative().optional(),
});
export type Signal = z.infer<typeof Signal>;
