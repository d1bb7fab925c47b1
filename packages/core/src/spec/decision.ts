import { z } from "zod";
import { ActionName, JsonObject, StringMap, Timestamp } from "./common.js";

/**
 * Metrics the enrichers found. A metric that could not be read is absent, never zero:
 * a policy must treat "unknown" differently from "0".
 */
export const DecisionMetrics = z
  .object({
    /** Ratio of failed requests, 0..1 (the seed's `metrics.error_rate`). */
    error_rate: z.number().optional(),
    /** Container restarts in the alert's window (the seed's `metrics.restart_count`). */
    restart_count: z.number().optional(),
    /** CPU usage as a share of the limit, 0..1 (the seed's `metrics.cpu_usage`). */
    cpu_usage: z.number().optional(),
  })
  .catchall(z.number());
export type DecisionMetrics = z.infer<typeof DecisionMetrics>;

/** One earlier automated action on the same service, for rate-aware policies. */
export const HistoryEntry = z.object({
  /** The incident the action belonged to. */
  incident_id: z.string(),
  /** The action taken (`rollback`). */
  action: ActionName,
  /** When the action started. */
  at: Timestamp,
  /**
   * How it ended: `pending` while it runs or awaits verification, `succeeded` once verified,
   * `failed` when it or its verification failed, `cancelled` when it was recorded as starting
   * but stopped before its side effect (kill switch), `dry_run` when it was only planned.
   */
  outcome: z.enum(["pending", "succeeded", "failed", "cancelled", "dry_run"]),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

/** The workload as the config repository states it. */
export const DeploymentFacts = z.object({
  /** The image running now (`registry/checkout:v1.2.0`). */
  image: z.string().optional(),
  /**
   * The image deployed before the current one. `null` means it is known that there is none
   * (nothing to roll back to); absent means unknown (the remediator will look it up).
   */
  previous_image: z.string().nullable().optional(),
  /** Replicas the repository asks for. */
  replicas: z.number().int().nonnegative().optional(),
  /**
   * The HorizontalPodAutoscaler that owns the replicas, when one targets the workload: a
   * scale-up raises its `min_replicas`, never above its `max_replicas`.
   */
  hpa: z
    .object({
      name: z.string(),
      min_replicas: z.number().int().nonnegative(),
      max_replicas: z.number().int().positive(),
    })
    .optional(),
  /** Versions that must not be deployed again (anti-flapping quarantine). */
  quarantined: z.array(z.string()).optional(),
  /**
   * The config repository's commit that introduced what runs now (the last release of the
   * service), as its history says. Absent when unknown.
   */
  release_revision: z.string().optional(),
});
export type DeploymentFacts = z.infer<typeof DeploymentFacts>;

/**
 * What Argo CD told of the application, for an incident an Argo CD notifications source opened
 * (never for one opened by another source, whatever its labels say).
 */
export const ArgocdDecisionFacts = z.object({
  /**
   * `sync-failed`: a sync of `revision` failed; `degraded-after-release`: the application turned
   * Degraded soon after `revision` was synced; `health-degraded`: Degraded, not soon after a sync.
   */
  event: z.enum(["sync-failed", "degraded-after-release", "health-degraded"]),
  /** The revision the failed sync was of, or the one live when it turned Degraded. */
  revision: z.string(),
  /** Argo CD's sync status (`Synced`, `OutOfSync`, ...), empty when it sent none. */
  sync: z.string(),
  /** Argo CD's health status (`Healthy`, `Degraded`, ...), empty when it sent none. */
  health: z.string(),
});
export type ArgocdDecisionFacts = z.infer<typeof ArgocdDecisionFacts>;

/**
 * What a policy decides on. Keeps every field the seed's Rego read (`alert.labels`,
 * `alert.annotations`, `metrics.*`, `current_replicas`, `max_replicas`) and adds the service,
 * the deployment, this service's recent actions and the time of the decision. Policies are
 * pure: everything they need comes in here.
 */
export const DecisionInput = z.object({
  /** The alert that opened the incident. */
  alert: z.object({
    labels: StringMap,
    annotations: StringMap,
    /** `firing` or `resolved`, as last seen. */
    status: z.enum(["firing", "resolved"]),
    /** When the alert started firing. */
    starts_at: Timestamp,
    /** Alertmanager fingerprint of the alert. */
    fingerprint: z.string(),
    /**
     * How many alerts the sender left out of the notifications of this incident (Alertmanager's
     * `truncatedAlerts`); absent when none were. Above 0, the controller has not seen every
     * alert of the group: the built-in policy still acts but asks for a human as well.
     */
    truncated_alerts: z.number().int().positive().optional(),
  }),
  /** The service the incident is about. */
  service: z.string().min(1),
  /** The incident being decided. */
  incident: z.object({
    id: z.string(),
    key: z.string(),
    alertname: z.string(),
    opened_at: Timestamp,
    signal_count: z.number().int().positive(),
  }),
  /** Metric values found by enrichers; a missing key means unknown. */
  metrics: DecisionMetrics,
  /** Replicas running now, when an enricher knows. */
  current_replicas: z.number().int().nonnegative().optional(),
  /** The most replicas this service may have (the replica cap), when configured. */
  max_replicas: z.number().int().nonnegative().optional(),
  /** The workload as the config repository states it, when an enricher knows. */
  deployment: DeploymentFacts.optional(),
  /** Argo CD's own notification, when an Argo CD notifications source opened the incident. */
  argocd: ArgocdDecisionFacts.optional(),
  /** This service's automated actions, newest first, over the configured look-back. */
  history: z.array(HistoryEntry),
  /** The time of the decision; policies use it instead of a clock. */
  now: Timestamp,
  /** Further facts from enrichers, under a key named after the enricher. */
  facts: JsonObject.optional(),
});
export type DecisionInput = z.infer<typeof DecisionInput>;

/**
 * What a policy decided: an action with its parameters, and why. `none` is a decision too;
 * `escalate` asks for a human (a notification) whatever the action.
 */
export const Decision = z.object({
  /** `none`, `rollback`, `scale_up`, or a custom action a remediator supports. */
  action: ActionName,
  /** Parameters of the action (`{ "replicas": 4 }`, `{ "image": "..." }`). */
  params: JsonObject.default({}),
  /** Why, in words an on-call engineer reads in the change request. */
  reason: z.string().min(1),
  /** Ask for a human: notify and mark the incident escalated. */
  escalate: z.boolean().default(false),
  /** The policy engine's own id for this decision (OPA's `decision_id`). */
  decision_id: z.string().optional(),
});
export type Decision = z.infer<typeof Decision>;
/** A decision as a policy may write it: `params` and `escalate` may be left out. */
export type DecisionDraft = z.input<typeof Decision>;
