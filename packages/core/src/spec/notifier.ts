import type { CallOptions } from "./common.js";
import type { Incident } from "./incident.js";

/** Something people should hear about. */
export interface Notification {
  /**
   * `escalated`: a human must act; `remediated`: an action was taken; `resolved`: verified
   * fixed; `suppressed`: a guardrail stopped an action; `failed`: an action or its
   * verification failed.
   */
  readonly kind: "escalated" | "remediated" | "resolved" | "suppressed" | "failed";
  /** The incident (its decision, plan and result included). */
  readonly incident: Incident;
  /** One line: what happened. */
  readonly title: string;
  /** A few lines: why, and where to look. Credentials are already redacted. */
  readonly text: string;
  /** Links worth clicking (the change request, the alert). */
  readonly links?: readonly { readonly label: string; readonly url: string }[];
}

/**
 * Tells people what happened (Slack, a JSON webhook, a pager). Notifications are sent in the
 * background: a notifier that fails or hangs is recorded and never blocks or fails a remediation.
 */
export interface Notifier {
  /** Name recorded in the audit trail. */
  readonly name: string;
  /**
   * Which kinds it sends; absent means all.
   */
  readonly kinds?: readonly Notification["kind"][];
  /** Send one notification. Reject on failure. */
  notify(notification: Notification, options: CallOptions): Promise<void>;
}
