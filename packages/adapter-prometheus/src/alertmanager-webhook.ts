import {
  BadInputError,
  type Signal,
  type SignalSource,
  type SignalSourceRoute,
  shortHash,
  type WebhookAuth,
} from "@selfheal/core";
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
 * only the fields we read. See `contracts/alertmanager-webhook.md`.
 */
export const AlertmanagerWebhookPayload = z.object({
  version: z.literal("4"),
  groupKey: z.string().nullish(),
  groupLabels: labelMap.nullish(),
  commonLabels: labelMap.nullish(),
  alerts: z.array(AlertmanagerWebhookAlert),
});
export type AlertmanagerWebhookPayload = z.infer<typeof AlertmanagerWebhookPayload>;

const defaultPath = "/webhook/alertmanager";
const defaultServiceLabel = "service";
const defaultName = "alertmanager";
const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const invalidOptionPrefix = /^Invalid option: /;

/**
 * A signal source for Alertmanager's generic webhook: one signal per alert of each
 * notification. Each call returns an independent source (two Alertmanager clusters, two
 * routes). Malformed payloads are refused with a `BadInputError` naming the JSON path
 * (`alerts[2].startsAt`), so the webhook server answers 400 and records nothing.
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

function parseAlertmanagerPayload(body: unknown, receivedAt: Date, config: ParserConfig): Signal[] {
  const errorContext = { adapter: config.name, operation: "parse" } as const;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new BadInputError(
      `Alertmanager webhook payload must be a JSON object, got ${Array.isArray(body) ? "an array" : preview(body)}`,
      errorContext,
    );
  }
  // Checked first for a clear message: another version means a different shape altogether.
  const version = (body as { version?: unknown }).version;
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
    const [first, ...rest] = parsed.error.issues;
    const where = first === undefined ? "" : jsonPath(first.path);
    const more = rest.length === 0 ? "" : ` (and ${rest.length} more problem${rest.length === 1 ? "" : "s"})`;
    throw new BadInputError(
      `invalid Alertmanager webhook payload${where === "" ? "" : ` at ${where}`}: ${first === undefined ? "invalid" : describeIssue(first)}${more}`,
      { ...errorContext, ...(where === "" ? {} : { path: where }) },
    );
  }

  const payload = parsed.data;
  const groupKey = payload.groupKey ?? "";
  const fallbackService =
    payload.commonLabels?.[config.serviceLabel] || payload.groupLabels?.[config.serviceLabel];
  const receivedAtText = receivedAt.toISOString();
  const signals: Signal[] = [];
  for (const [index, alert] of payload.alerts.entries()) {
    const alertname = alert.labels.alertname;
    if (alertname === undefined || alertname === "") {
      throw new BadInputError(`alert ${index} (fingerprint ${alert.fingerprint}) has no "alertname" label`, {
        ...errorContext,
        path: `alerts[${index}].labels.alertname`,
      });
    }
    const service = alert.labels[config.serviceLabel] || fallbackService;
    if (service === undefined || service === "") {
      throw new BadInputError(
        `alert ${index} (${alertname}, fingerprint ${alert.fingerprint}) has no "${config.serviceLabel}" label, ` +
          "nor do the payload's commonLabels or groupLabels: add it to the alerting rule or set serviceLabel",
        { ...errorContext, path: `alerts[${index}].${config.servicePathSuffix}` },
      );
    }
    const signal: Signal = {
      source: config.name,
      // Same delivery (retry, repeat, HA replica) → same key; the resolved notice differs by status.
      // A hash of the received values: the controller redacts the signal after this, and keeps
      // the key as it is (a hash holds no credential), so redaction never changes dedup.
      dedupKey: shortHash([groupKey, alert.fingerprint, alert.startsAt, alert.status], 32),
      status: alert.status,
      alertname,
      service,
      labels: alert.labels,
      annotations: alert.annotations ?? {},
      fingerprint: alert.fingerprint,
      startsAt: alert.startsAt,
      receivedAt: receivedAtText,
    };
    const endsAt = alert.endsAt;
    if (endsAt !== undefined && endsAt !== null && endsAt !== "" && !isGoZeroTime(endsAt)) {
      signal.endsAt = endsAt;
    }
    if (groupKey !== "") signal.groupKey = groupKey;
    if (alert.generatorURL !== undefined && alert.generatorURL !== null && alert.generatorURL !== "") {
      signal.generatorUrl = alert.generatorURL;
    }
    signals.push(signal);
  }
  return signals;
}

/**
 * Alertmanager zeroes `endsAt` of firing alerts, and Go writes its zero time as
 * `0001-01-01T00:00:00Z`. No real alert ends on the first day of year 1, whatever the zone.
 */
function isGoZeroTime(timestamp: string): boolean {
  return timestamp.startsWith("0001-01-01T");
}

/** A zod issue as a sentence: what was expected, and what came instead (briefly). */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_type" && issue.input === undefined)
    return `missing (expected ${issue.expected})`;
  if (issue.code === "invalid_type") return `expected ${issue.expected}, got ${preview(issue.input)}`;
  if (issue.code === "invalid_value" && issue.input !== undefined) {
    return `${issue.message.replace(invalidOptionPrefix, "")}, got ${preview(issue.input)}`;
  }
  return issue.message;
}

/** `["alerts", 2, "startsAt"]` → `alerts[2].startsAt`; odd keys in brackets: `labels["a.b"]`. */
function jsonPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && identifier.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** A short rendering of a received value for an error message. */
function preview(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
