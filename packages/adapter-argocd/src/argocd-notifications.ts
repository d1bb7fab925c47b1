import {
  type ArgocdDecisionFacts,
  BadInputError,
  type Signal,
  type SignalSource,
  type SignalSourceRoute,
  type WebhookAuth,
} from "@selfheal/core";
import { describeIssues, jsonObjectOf, preview, shortHash } from "@selfheal/core/internal";
import { z } from "zod";

/**
 * The events the shipped triggers send (examples/deploy/argocd/notifications.yaml), each with the
 * alert name its signals carry:
 * - `sync-failed`: a sync operation ended in `Failed` or `Error`;
 * - `degraded-after-release`: the application turned `Degraded` soon after a sync succeeded
 *   (the trigger's window, 15 minutes as shipped): the new revision is the suspect;
 * - `health-degraded`: `Degraded` with no recent successful sync: something else broke it.
 */
export const argocdNotificationAlertnames = {
  "sync-failed": "ArgoCDSyncFailed",
  "degraded-after-release": "ArgoCDDegradedAfterRelease",
  "health-degraded": "ArgoCDHealthDegraded",
} as const;

/** The event of an Argo CD notification, as its template names it. */
export type ArgocdNotificationEvent = keyof typeof argocdNotificationAlertnames;

/** Settings of `argocdNotificationsWebhook`. */
export interface ArgocdNotificationsWebhookSettings {
  /**
   * Path the webhook is served at: the `url` of `service.webhook.selfheal` in
   * argocd-notifications-cm ends with it.
   * @default "/webhook/argocd"
   */
  readonly path?: string;
  /**
   * The token the template's service sends (`Authorization: Bearer $selfheal-webhook-token`).
   * Absent means no authentication: only for a listener nothing else can reach.
   */
  readonly auth?: WebhookAuth;
  /**
   * How the service is found from the application: by default its name. `label` reads a label
   * of the Application instead (the application's name when it has none); `applications` maps
   * application names (`checkout-prod`) to services (`checkout`), and wins over both.
   */
  readonly service?: {
    readonly label?: string;
    readonly applications?: Readonly<Record<string, string>>;
  };
  /**
   * Largest payload accepted, in bytes; larger ones are answered 413.
   * @default 65_536
   */
  readonly maxBodyBytes?: number;
  /**
   * Name of this source, recorded on every signal; unique within a controller.
   * @default "argocd"
   */
  readonly name?: string;
}

const text = z.string();
/** What the shipped template sends, every field of it (a missing one is an empty string, by `dig`). */
export const ArgocdNotification = z.object({
  selfheal: z.literal("argocd-notification/v1"),
  event: z.enum(["sync-failed", "degraded-after-release", "health-degraded"]),
  application: z.string().min(1, "the application's name is empty"),
  namespace: text,
  project: text,
  labels: z.record(z.string(), z.string()),
  sync: z.object({ status: text, revision: text }),
  health: z.object({ status: text, message: text }),
  operation: z.object({
    phase: text,
    message: text,
    revision: text,
    syncedRevision: text,
    startedAt: text,
    finishedAt: text,
  }),
});
export type ArgocdNotification = z.infer<typeof ArgocdNotification>;

const rfc3339 = z.iso.datetime({ offset: true });
/** Longest annotation kept from a message Argo CD wrote (a failed sync's can list every resource). */
const maxMessageLength = 2_000;

/**
 * A signal source for Argo CD's own notifications: the webhook service of
 * argocd-notifications-cm, with the triggers and templates shipped in
 * examples/deploy/argocd/notifications.yaml. A failed sync, or an application that turns Degraded
 * soon after a new revision, becomes a firing signal for the application's service, and goes
 * through the same policy, guardrails, change and verification as an alert.
 *
 * The body must be exactly what the shipped template renders; anything else is refused with 400
 * and the JSON path of what is missing or wrong. The signal's labels carry what the policy
 * needs (`argocd_event`, `argocd_sync`, `argocd_health`, `argocd_phase`, `argocd_revision`: the
 * revision the failing sync or the degraded release was of), its annotations Argo CD's messages.
 * A notification sent again (Argo CD retries, or the same state notified twice) is the same
 * delivery: it has the same `dedupKey` (event, application, revision, operation start).
 *
 * @example
 * createController({ sources: [argocdNotificationsWebhook({ auth: { bearer: process.env.ARGOCD_NOTIFY_TOKEN ?? "" } })], ... })
 */
export function argocdNotificationsWebhook(settings: ArgocdNotificationsWebhookSettings = {}): SignalSource {
  const name = settings.name ?? "argocd";
  const path = settings.path ?? "/webhook/argocd";
  if (name === "")
    throw new BadInputError("argocdNotificationsWebhook: name must not be empty", { path: "name" });
  if (!path.startsWith("/")) {
    throw new BadInputError(
      `argocdNotificationsWebhook: path must start with "/", got ${JSON.stringify(path)}`,
      { path: "path" },
    );
  }
  const label = settings.service?.label;
  if (label === "") {
    throw new BadInputError("argocdNotificationsWebhook: service.label must not be empty", {
      path: "service.label",
    });
  }
  const applications = new Map(Object.entries(settings.service?.applications ?? {}));
  for (const [application, service] of applications) {
    if (service === "") {
      throw new BadInputError(
        `argocdNotificationsWebhook: service.applications[${JSON.stringify(application)}] must not be empty`,
        { path: "service.applications" },
      );
    }
  }
  const serviceOf = (notification: ArgocdNotification): string =>
    applications.get(notification.application) ??
    (label === undefined ? undefined : notification.labels[label] || undefined) ??
    notification.application;
  const route: SignalSourceRoute = {
    path,
    maxBodyBytes: settings.maxBodyBytes ?? 65_536,
    ...(settings.auth === undefined ? {} : { auth: settings.auth }),
    parse: (body, context) => {
      const notification = parseArgocdNotification(body, name);
      return [notificationSignal(notification, serviceOf(notification), name, context.receivedAt)];
    },
  };
  return { name, route, decisionInput: (incident) => decisionFacts(incident.labels) };
}

/**
 * The notification as the decision input's `argocd`, read back from the labels this source gave
 * the incident's signal. The controller asks only for incidents this source opened.
 */
function decisionFacts(labels: Readonly<Record<string, string>>): { argocd?: ArgocdDecisionFacts } {
  const event = labels.argocd_event;
  if (event === undefined || !(event in argocdNotificationAlertnames)) return {};
  return {
    argocd: {
      event: event as ArgocdNotificationEvent,
      revision: labels.argocd_revision ?? "",
      sync: labels.argocd_sync ?? "",
      health: labels.argocd_health ?? "",
    },
  };
}

/**
 * A notification body as the shipped template renders it.
 * @throws BadInputError naming the JSON path of the first problem
 */
export function parseArgocdNotification(body: unknown, adapter = "argocd"): ArgocdNotification {
  const errorContext = { adapter, operation: "parse" } as const;
  const kind = jsonObjectOf(body, "Argo CD notification", errorContext).selfheal;
  if (kind !== "argocd-notification/v1") {
    throw new BadInputError(
      kind === undefined
        ? 'missing "selfheal": expected a notification rendered by the selfheal templates of examples/deploy/argocd/notifications.yaml ("selfheal": "argocd-notification/v1")'
        : `unsupported notification ${preview(kind)}: only "argocd-notification/v1" (examples/deploy/argocd/notifications.yaml) is understood`,
      { ...errorContext, path: "selfheal" },
    );
  }
  const parsed = ArgocdNotification.safeParse(body, { reportInput: true });
  if (!parsed.success) {
    const problem = describeIssues(parsed.error.issues, []);
    throw new BadInputError(`invalid Argo CD notification at ${problem.path}: ${problem.reason}`, {
      ...errorContext,
      path: problem.path,
    });
  }
  const notification = parsed.data;
  const { operation } = notification;
  // What each event needs to be acted on: a failed sync names the revision it tried; a degraded
  // release names the revision that is live.
  if (notification.event === "sync-failed") {
    requireField(operation.phase, "operation.phase", "the phase of the failed sync", errorContext);
    requireField(operation.startedAt, "operation.startedAt", "when the failed sync started", errorContext);
    requireField(
      operation.revision,
      "operation.revision",
      "the revision the failed sync was of",
      errorContext,
    );
  } else {
    requireField(notification.health.status, "health.status", "the health status", errorContext);
    requireField(notification.sync.revision, "sync.revision", "the revision that is live", errorContext);
  }
  for (const [field, value] of [
    ["operation.startedAt", operation.startedAt],
    ["operation.finishedAt", operation.finishedAt],
  ] as const) {
    if (value !== "" && !rfc3339.safeParse(value).success) {
      throw new BadInputError(
        `invalid Argo CD notification at ${field}: expected an RFC 3339 timestamp, got ${preview(value)}`,
        { ...errorContext, path: field },
      );
    }
  }
  return notification;
}

function requireField(
  value: string,
  path: string,
  what: string,
  context: { readonly adapter: string; readonly operation: string },
): void {
  if (value !== "") return;
  throw new BadInputError(
    `invalid Argo CD notification at ${path}: empty, and ${what} is needed (is the application's operation state in the template?)`,
    { ...context, path },
  );
}

/** The signal of a notification: one per notification, firing. */
function notificationSignal(
  notification: ArgocdNotification,
  service: string,
  source: string,
  receivedAt: Date,
): Signal {
  const { event, operation } = notification;
  const alertname = argocdNotificationAlertnames[event];
  const revision = event === "sync-failed" ? operation.revision : notification.sync.revision;
  const application =
    notification.namespace === ""
      ? notification.application
      : `${notification.namespace}/${notification.application}`;
  const fingerprint = shortHash(["argocd", application, event], 16);
  const startsAt = operation.finishedAt || operation.startedAt || receivedAt.toISOString();
  const annotations: Record<string, string> = {
    summary: `${alertname}: Argo CD application ${notification.application} (${event} at revision ${revision})`,
  };
  if (operation.message !== "") annotations.operation_message = clip(operation.message);
  if (notification.health.message !== "") annotations.health_message = clip(notification.health.message);
  return {
    source,
    // The same notification sent twice is one delivery; a later sync or release is another.
    dedupKey: [event, application, revision, operation.startedAt].join("/"),
    status: "firing",
    alertname,
    service,
    labels: {
      alertname,
      service,
      argocd_application: notification.application,
      ...(notification.namespace === "" ? {} : { argocd_namespace: notification.namespace }),
      ...(notification.project === "" ? {} : { argocd_project: notification.project }),
      argocd_event: event,
      argocd_revision: revision,
      argocd_sync: notification.sync.status,
      argocd_health: notification.health.status,
      ...(operation.phase === "" ? {} : { argocd_phase: operation.phase }),
    },
    annotations,
    fingerprint,
    startsAt: new Date(startsAt).toISOString(),
    receivedAt: receivedAt.toISOString(),
  };
}

function clip(message: string): string {
  return message.length <= maxMessageLength ? message : `${message.slice(0, maxMessageLength)}…`;
}
