import {
  BadInputError,
  type RejectedItem,
  type Signal,
  type SignalParseResult,
  type SignalSource,
  type SignalSourceRoute,
  type WebhookAuth,
} from "@selfheal/core";
import { describeIssues, jsonObjectOf, jsonPath, preview, shortHash } from "@selfheal/core/internal";
import { z } from "zod";

/** Settings of `alertmanagerWebhook`. */
export interface AlertmanagerWebhookSettings {
  /**
   * Path the webhook is served at; point Alertmanager's `webhook_configs[].url` here.
   * @default "/webhook/alertmanager"
   */
  readonly path?: string;
  /**
   * Credentials Alertmanager must send (`http_config.authorization` or `basic_auth` of the
   * webhook config). Absent means no authentication.
   * @default undefined
   */
  readonly auth?: WebhookAuth;
  /**
   * Label naming the service an alert is about. Read from the alert's labels, then from the
   * payload's `commonLabels` and `groupLabels`.
   * @default "service"
   */
  readonly serviceLabel?: string;
  /**
   * Largest payload accepted, in bytes; larger ones are answered 413. Alertmanager's
   * `max_alerts` keeps payloads small.
   * @default 1_048_576
   */
  readonly maxBodyBytes?: number;
  /**
   * Name of this source, recorded on every signal; unique within a controller.
   * @default "alertmanager"
   */
  readonly name?: string;
}

const rfc3339 = z.iso.datetime({
  offset: true,
  error: (issue) =>
    `expected an RFC 3339 timestamp such as 2026-08-20T10:15:30.123Z, got ${preview(issue.input)}`,
});
const labelMap = z.record(z.string(), z.string());

/**
 * One alert of an Alertmanager webhook payload (version 4): only the fields we read. Unknown
 * keys are ignored, since each Alertmanager release may add some.
 */
export const AlertmanagerWebhookAlert = z.object({
  status: z.enum(["firing", "resolved"]),
  labels: labelMap,
  // Go encodes a nil map as null; an alert without annotations is still an alert.
  annotations: labelMap.nullish(),
  startsAt: rfc3339,
  // Go's zero time ("0001-01-01T00:00:00Z") while firing; tolerate absent or empty too.
  endsAt: z.union([z.literal(""), rfc3339]).nullish(),
  generatorURL: z.string().nullish(),
  fingerprint: z.string().min(1),
});
export type AlertmanagerWebhookAlert = z.infer<typeof AlertmanagerWebhookAlert>;

/**
 * An Alertmanager webhook payload, version 4 (`webhook_config` without a custom `payload`):
 * only the fields we read. See `contracts/alertmanager-webhook.md`. The alerts are checked one
 * by one with {@link AlertmanagerWebhookAlert}: one bad alert must not sink the others.
 */
export const AlertmanagerWebhookPayload = z.object({
  version: z.literal("4"),
  groupKey: z.string().nullish(),
  groupLabels: labelMap.nullish(),
  commonLabels: labelMap.nullish(),
  /** Alerts Alertmanager left out because of the receiver's `max_alerts`. */
  truncatedAlerts: z.number().int().nonnegative().nullish(),
  alerts: z.array(z.unknown()),
});
export type AlertmanagerWebhookPayload = z.infer<typeof AlertmanagerWebhookPayload>;

const defaultPath = "/webhook/alertmanager";
const defaultServiceLabel = "service";
const defaultName = "alertmanager";

/**
 * A signal source for Alertmanager's generic webhook: one signal per alert of each
 * notification. Each call returns an independent source (two Alertmanager clusters, two
 * routes). A payload that is malformed as a whole (not an object, not version 4, `alerts` not a
 * list) is refused with a `BadInputError` naming the JSON path, so the webhook server answers
 * 400. A malformed alert (no `alertname`, no service label, a bad timestamp) is rejected alone,
 * with its JSON path (`alerts[2].startsAt`), and the valid alerts beside it are accepted:
 * Alertmanager never retries a 4xx. `truncatedAlerts` is set on every signal when above 0.
 *
 * @example
 * createController({ sources: [alertmanagerWebhook({ auth: { bearer: process.env.AM_TOKEN ?? "" } })], ... })
 */
export function alertmanagerWebhook(settings: AlertmanagerWebhookSettings = {}): SignalSource {
  const name = settings.name ?? defaultName;
  const path = settings.path ?? defaultPath;
  const serviceLabel = settings.serviceLabel ?? defaultServiceLabel;
  if (name === "") throw new BadInputError("alertmanagerWebhook: name must not be empty", { path: "name" });
  if (!path.startsWith("/")) {
    throw new BadInputError(`alertmanagerWebhook: path must start with "/", got ${JSON.stringify(path)}`, {
      path: "path",
    });
  }
  if (serviceLabel === "") {
    throw new BadInputError("alertmanagerWebhook: serviceLabel must not be empty", { path: "serviceLabel" });
  }
  const parser = { name, serviceLabel, servicePathSuffix: jsonPath(["labels", serviceLabel]) };
  const route: SignalSourceRoute = {
    path,
    ...(settings.auth === undefined ? {} : { auth: settings.auth }),
    ...(settings.maxBodyBytes === undefined ? {} : { maxBodyBytes: settings.maxBodyBytes }),
    parse: (body, context) => parseAlertmanagerPayload(body, context.receivedAt, parser),
  };
  return { name, route };
}

interface ParserConfig {
  readonly name: string;
  readonly serviceLabel: string;
  /** `labels.<serviceLabel>` as a JSON path segment, computed once. */
  readonly servicePathSuffix: string;
}

function parseAlertmanagerPayload(body: unknown, receivedAt: Date, config: ParserConfig): SignalParseResult {
  const errorContext = { adapter: config.name, operation: "parse" } as const;
  // Checked first for a clear message: another version means a different shape altogether.
  const version = jsonObjectOf(body, "Alertmanager webhook payload", errorContext).version;
  if (version !== "4") {
    throw new BadInputError(
      version === undefined
        ? 'missing "version": expected an Alertmanager webhook payload of version "4"'
        : `unsupported Alertmanager webhook payload version ${preview(version)}: only version "4" is supported`,
      { ...errorContext, path: "version" },
    );
  }

  const parsed = AlertmanagerWebhookPayload.safeParse(body, { reportInput: true });
  if (!parsed.success) {
    const problem = describeIssues(parsed.error.issues, []);
    throw new BadInputError(
      `invalid Alertmanager webhook payload${problem.path === "" ? "" : ` at ${problem.path}`}: ${problem.reason}`,
      { ...errorContext, ...(problem.path === "" ? {} : { path: problem.path }) },
    );
  }

  const payload = parsed.data;
  const notification: NotificationFacts = {
    groupKey: payload.groupKey ?? "",
    fallbackService:
      payload.commonLabels?.[config.serviceLabel] || payload.groupLabels?.[config.serviceLabel] || undefined,
    receivedAt: receivedAt.toISOString(),
    truncatedAlerts: payload.truncatedAlerts ?? 0,
  };
  const signals: Signal[] = [];
  const rejected: RejectedItem[] = [];
  // One pass over the whole list first: the usual, all-valid notification costs no more than
  // before alerts were checked one by one; only a list with a bad alert is checked alert by alert.
  const all = alertList.safeParse(payload.alerts);
  for (const [index, raw] of payload.alerts.entries()) {
    const result = alertSignal(index, all.success ? all.data[index] : raw, all.success, notification, config);
    if ("reason" in result) rejected.push(result);
    else signals.push(result);
  }
  return { signals, rejected };
}

const alertList = z.array(AlertmanagerWebhookAlert);
const hexFingerprint = /^[0-9a-fA-F]{1,64}$/;

/** What every alert of one notification shares. */
interface NotificationFacts {
  readonly groupKey: string;
  readonly fallbackService: string | undefined;
  readonly receivedAt: string;
  readonly truncatedAlerts: number;
}

/** One alert of a notification as a signal, or why it cannot be one. */
function alertSignal(
  index: number,
  raw: unknown,
  /** `raw` is already a valid `AlertmanagerWebhookAlert`. */
  checked: boolean,
  notification: NotificationFacts,
  config: ParserConfig,
): Signal | RejectedItem {
  // Read before validation, so a rejection can still name the alert when the rest is broken.
  const rawFingerprint =
    typeof raw === "object" && raw !== null && !Array.isArray(raw)
      ? (raw as { fingerprint?: unknown }).fingerprint
      : undefined;
  // Kept only when it looks like one (Alertmanager's are 16 hex digits): it is stored as is.
  const fingerprint =
    typeof rawFingerprint === "string" && hexFingerprint.test(rawFingerprint) ? rawFingerprint : undefined;
  const reject = (path: string, reason: string): RejectedItem => ({
    index,
    path,
    reason,
    ...(fingerprint === undefined ? {} : { fingerprint }),
  });
  let alert: AlertmanagerWebhookAlert;
  if (checked) alert = raw as AlertmanagerWebhookAlert;
  else {
    const parsed = AlertmanagerWebhookAlert.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
      const problem = describeIssues(parsed.error.issues, ["alerts", index]);
      return reject(problem.path, `invalid alert at ${problem.path}: ${problem.reason}`);
    }
    alert = parsed.data;
  }
  const alertname = alert.labels.alertname;
  if (alertname === undefined || alertname === "") {
    return reject(
      `alerts[${index}].labels.alertname`,
      `alert ${index} (fingerprint ${alert.fingerprint}) has no "alertname" label`,
    );
  }
  const service = alert.labels[config.serviceLabel] || notification.fallbackService;
  if (service === undefined || service === "") {
    return reject(
      `alerts[${index}].${config.servicePathSuffix}`,
      `alert ${index} (${alertname}, fingerprint ${alert.fingerprint}) has no "${config.serviceLabel}" label, ` +
        "nor do the payload's commonLabels or groupLabels: add it to the alerting rule or set serviceLabel",
    );
  }
  const signal: Signal = {
    source: config.name,
    // Same delivery (retry, repeat, HA replica) → same key; the resolved notice differs by status.
    // A hash of the received values: the controller redacts the signal after this, and keeps
    // the key as it is (a hash holds no credential), so redaction never changes dedup.
    dedupKey: shortHash([notification.groupKey, alert.fingerprint, alert.startsAt, alert.status], 32),
    status: alert.status,
    alertname,
    service,
    labels: alert.labels,
    annotations: alert.annotations ?? {},
    fingerprint: alert.fingerprint,
    startsAt: alert.startsAt,
    receivedAt: notification.receivedAt,
  };
  const endsAt = alert.endsAt;
  if (endsAt !== undefined && endsAt !== null && endsAt !== "" && !isGoZeroTime(endsAt)) {
    signal.endsAt = endsAt;
  }
  if (notification.groupKey !== "") signal.groupKey = notification.groupKey;
  if (alert.generatorURL !== undefined && alert.generatorURL !== null && alert.generatorURL !== "") {
    signal.generatorUrl = alert.generatorURL;
  }
  if (notification.truncatedAlerts > 0) signal.truncatedAlerts = notification.truncatedAlerts;
  return signal;
}

/**
 * Alertmanager zeroes `endsAt` of firing alerts, and Go writes its zero time as
 * `0001-01-01T00:00:00Z`. No real alert ends on the first day of year 1, whatever the zone.
 */
function isGoZeroTime(timestamp: string): boolean {
  return timestamp.startsWith("0001-01-01T");
}
