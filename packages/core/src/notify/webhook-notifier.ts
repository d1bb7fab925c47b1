import { SelfHealError } from "../errors/selfheal-error.js";
import type { CallOptions } from "../spec/common.js";
import type { Incident } from "../spec/incident.js";
import type { Notification, Notifier } from "../spec/notifier.js";
import { redact, redactDeep } from "../util/redact.js";
import {
  checkTimeoutMs,
  type HttpTargetKind,
  postJson,
  prepareTarget,
  redactedUrlWithoutQuery,
} from "./http-target.js";

/** Settings of {@link webhookNotifier}. */
export interface WebhookNotifierSettings {
  /**
   * Where to POST. Credentials in it (`https://user:pass@host/…`) are sent as Basic auth and
   * only ever appear redacted in errors; the query string never appears in errors.
   */
  readonly url: string;
  /**
   * Name recorded in the audit trail.
   * @default "webhook"
   */
  readonly name?: string;
  /**
   * Extra request headers (an `authorization` header, a routing key). They override the
   * defaults and never appear in errors.
   * @default {}
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Which kinds of notification it sends.
   * @default all kinds
   */
  readonly kinds?: readonly Notification["kind"][];
  /**
   * Time limit of one request, in milliseconds (on top of the caller's signal).
   * @default 5000
   */
  readonly timeoutMs?: number;
  /**
   * The transport. Tests and proxies inject their own.
   * @default globalThis.fetch
   */
  readonly fetch?: typeof fetch;
}

/**
 * The JSON body a {@link webhookNotifier} posts (`content-type: application/json`). `version`
 * changes only when a field changes meaning or goes away; new fields may appear at any time.
 * Credentials anywhere in it are redacted.
 */
export interface WebhookNotificationBody {
  /** Version of this body's shape. */
  readonly version: "1";
  /** What happened: `escalated`, `remediated`, `resolved`, `suppressed`, `failed`. */
  readonly kind: Notification["kind"];
  /** One line. */
  readonly title: string;
  /** A few lines, plain text. */
  readonly text: string;
  /** Links worth clicking; empty when there are none. */
  readonly links: readonly { readonly label: string; readonly url: string }[];
  /** The incident, without its labels, plan and verification details. */
  readonly incident: {
    readonly id: string;
    readonly key: string;
    readonly service: string;
    readonly alertname: string;
    readonly state: Incident["state"];
    readonly openedAt: string;
    readonly closedAt?: string;
    readonly decision?: NonNullable<Incident["decision"]>;
    readonly result?: NonNullable<Incident["result"]>;
  };
}

/** Errors show the URL with its credentials redacted and without its query. */
const webhook: HttpTargetKind = { adapter: "webhook", label: "webhook", safeUrlOf: redactedUrlWithoutQuery };

/**
 * A notifier that POSTs a {@link WebhookNotificationBody} to any HTTP endpoint (a chat bridge,
 * a pager, an internal service). Any 2xx counts as delivered; anything else rejects with a
 * {@link SelfHealError} carrying the status (retryable for 408, 429 and 5xx).
 */
export function webhookNotifier(settings: WebhookNotifierSettings): Notifier {
  const name = settings.name ?? "webhook";
  const timeoutMs = checkTimeoutMs(webhook, name, settings.timeoutMs ?? 5000);
  const target = prepareTarget(webhook, settings.url, name);
  const headers = new Headers(target.headers);
  for (const [key, value] of Object.entries(settings.headers ?? {})) headers.set(key, value);
  const transport = settings.fetch ?? globalThis.fetch;

  async function notify(notification: Notification, options: CallOptions): Promise<void> {
    const incidentId = notification.incident.id;
    const answer = await postJson(webhook, target, {
      transport,
      headers,
      body: webhookNotificationBody(notification),
      signal: options.signal,
      timeoutMs,
      incidentId,
    });
    if (answer.ok) return;
    const excerpt = redact(answer.body.trim().slice(0, 200));
    throw new SelfHealError(
      `webhook ${target.safeUrl} answered ${answer.status}${excerpt === "" ? "" : ` ${excerpt}`}`,
      {
        incidentId,
        url: target.safeUrl,
        adapter: "webhook",
        operation: "notify",
        status: answer.status,
        retryable: answer.status === 408 || answer.status === 429 || answer.status >= 500,
      },
    );
  }

  return { name, ...(settings.kinds === undefined ? {} : { kinds: settings.kinds }), notify };
}

/** The body a {@link webhookNotifier} posts for a notification, credentials redacted. */
export function webhookNotificationBody(notification: Notification): WebhookNotificationBody {
  const { incident } = notification;
  const body: WebhookNotificationBody = {
    version: "1",
    kind: notification.kind,
    title: notification.title,
    text: notification.text,
    links: (notification.links ?? []).map((link) => ({ label: link.label, url: link.url })),
    incident: {
      id: incident.id,
      key: incident.key,
      service: incident.service,
      alertname: incident.alertname,
      state: incident.state,
      openedAt: incident.openedAt,
      ...(incident.closedAt === undefined ? {} : { closedAt: incident.closedAt }),
      ...(incident.decision === undefined ? {} : { decision: incident.decision }),
      ...(incident.result === undefined ? {} : { result: incident.result }),
    },
  };
  return redactDeep(body);
}
