import { SelfHealError } from "../errors/selfheal-error.js";
import type { CallOptions } from "../spec/common.js";
import type { Notification, Notifier } from "../spec/notifier.js";
import { redact } from "../util/redact.js";
import {
  checkTimeoutMs,
  type HttpTargetKind,
  postJson,
  prepareTarget,
  redactedUrlWithoutQuery,
} from "./http-target.js";

/** Settings of {@link slackNotifier}. */
export interface SlackNotifierSettings {
  /**
   * The incoming webhook URL (`https://hooks.slack.com/services/T…/B…/…`). It is the secret:
   * it only ever appears redacted in errors and logs.
   */
  readonly url: string;
  /**
   * Name recorded in the audit trail.
   * @default "slack"
   */
  readonly name?: string;
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

/** Slack answered a message with something other than `200 ok`. */
export class SlackWebhookError extends SelfHealError {
  /** The error string Slack answered (`invalid_payload`, `channel_not_found`), cut to 200 characters. */
  readonly slackError: string;
  constructor(
    message: string,
    options: {
      readonly slackError: string;
      readonly url: string;
      readonly status: number;
      readonly incidentId?: string;
    },
  ) {
    const { slackError, ...context } = options;
    super(message, {
      ...context,
      adapter: "slack",
      operation: "notify",
      // Slack: retry 429 and 5xx with backoff, never retry other 4xx.
      retryable: options.status === 429 || options.status >= 500,
    });
    this.name = "SlackWebhookError";
    this.slackError = slackError;
  }
}

/** A Slack Block Kit text object. */
export interface SlackText {
  readonly type: "plain_text" | "mrkdwn";
  readonly text: string;
}

/** The Block Kit blocks this notifier sends. */
export type SlackBlock =
  | { readonly type: "header"; readonly text: SlackText }
  | { readonly type: "section"; readonly text: SlackText }
  | { readonly type: "section"; readonly fields: readonly SlackText[] }
  | { readonly type: "context"; readonly elements: readonly SlackText[] };

/** The body posted to the incoming webhook. */
export interface SlackMessage {
  /** Notification and fallback text (mrkdwn). */
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

const slack: HttpTargetKind = { adapter: "slack", label: "Slack webhook", safeUrlOf };

/**
 * A notifier that posts to a Slack incoming webhook: a header with the title, the text, the
 * incident's service, alert, state and action, its links, and the incident id. Only `200 ok`
 * counts as delivered; anything else rejects with a {@link SlackWebhookError} (retryable for
 * 429 and 5xx).
 */
export function slackNotifier(settings: SlackNotifierSettings): Notifier {
  const name = settings.name ?? "slack";
  const timeoutMs = checkTimeoutMs(slack, name, settings.timeoutMs ?? 5000);
  const target = prepareTarget(slack, settings.url, name);
  const transport = settings.fetch ?? globalThis.fetch;

  async function notify(notification: Notification, options: CallOptions): Promise<void> {
    const incidentId = notification.incident.id;
    const answer = await postJson(slack, target, {
      transport,
      headers: target.headers,
      body: slackMessage(notification),
      signal: options.signal,
      timeoutMs,
      incidentId,
    });
    if (answer.status === 200 && answer.body.trim() === "ok") return;
    const slackError = redact(answer.body.trim().slice(0, 200)) || "(empty body)";
    throw new SlackWebhookError(`Slack webhook ${target.safeUrl} answered ${answer.status} ${slackError}`, {
      incidentId,
      url: target.safeUrl,
      slackError,
      status: answer.status,
    });
  }

  return { name, ...(settings.kinds === undefined ? {} : { kinds: settings.kinds }), notify };
}

/**
 * The Slack message for a notification, as the incoming-webhook contract describes it. Every
 * string is redacted and mrkdwn text escaped.
 */
export function slackMessage(notification: Notification): SlackMessage {
  const { incident } = notification;
  const title = redact(notification.title);
  const text = redact(notification.text);
  const blocks: SlackBlock[] = [
    // Slack rejects a header longer than 150 characters.
    { type: "header", text: { type: "plain_text", text: truncate(title || notification.kind, 150) } },
  ];
  // A section's text must be non-empty and at most 3000 characters.
  if (text.trim() !== "") blocks.push({ type: "section", text: mrkdwn(truncate(escapeMrkdwn(text), 3000)) });

  const action = incident.plan?.action ?? incident.decision?.action;
  const fields: [string, string | undefined][] = [
    ["Service", incident.service],
    ["Alert", incident.alertname],
    ["State", incident.state],
    ["Action", action],
  ];
  blocks.push({
    type: "section",
    fields: fields
      .filter((field): field is [string, string] => field[1] !== undefined && field[1] !== "")
      .map(([label, value]) => mrkdwn(`*${label}:*\n${truncate(escapeMrkdwn(redact(value)), 1900)}`)),
  });

  const links = (notification.links ?? []).map(
    (link) => `<${escapeLinkUrl(redact(link.url))}|${escapeMrkdwn(redact(link.label))}>`,
  );
  if (links.length > 0) blocks.push({ type: "section", text: mrkdwn(truncate(links.join("  ·  "), 3000)) });

  blocks.push({
    type: "context",
    elements: [mrkdwn(`selfheal · ${notification.kind} · incident \`${escapeMrkdwn(redact(incident.id))}\``)],
  });
  return { text: escapeMrkdwn(title || notification.kind), blocks };
}

/** Escape the three characters Slack mrkdwn treats as control characters. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function escapeLinkUrl(url: string): string {
  // `|` would end the URL part of `<url|label>`.
  return escapeMrkdwn(url).replace(/\|/g, "%7C");
}

function mrkdwn(text: string): SlackText {
  return { type: "mrkdwn", text };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A webhook URL fit for an error message: credentials redacted, query and fragment dropped, and
 * the path hidden. The whole URL is the secret, also when it is not a hooks.slack.com URL (a
 * proxy, a Slack-compatible bridge).
 */
function safeUrlOf(raw: string): string {
  const redacted = redactedUrlWithoutQuery(raw);
  const match = /^([a-z][a-z0-9+.-]*:\/\/[^/]*)(\/.*)?$/is.exec(redacted);
  if (match === null) return "[REDACTED URL]";
  const [, origin, path = ""] = match;
  return path === "" || path === "/" || path.includes("[REDACTED]") ? redacted : `${origin}/[REDACTED]`;
}
