import type { AuditEvent, AuditEventType } from "../spec/audit-event.js";
import type { JsonObject } from "../spec/common.js";
import type { ControllerHook } from "../spec/controller-hook.js";
import type { DecisionInput } from "../spec/decision.js";
import type { Enricher } from "../spec/enricher.js";
import type { Incident } from "../spec/incident.js";
import type { Notification } from "../spec/notifier.js";
import type { Policy } from "../spec/policy.js";
import type { Remediator } from "../spec/remediator.js";
import type { Claim, Store } from "../spec/store.js";
import type { Verifier } from "../spec/verifier.js";
import type { Instruments } from "../telemetry/instruments.js";
import type { Mutex, Semaphore } from "../util/async.js";
import type { Logger } from "../util/logger.js";
import type { Redactor } from "../util/redact.js";
import type { DecisionRetryTiming } from "./decision-retry.js";
import type { Guardrails } from "./guardrails.js";
import { eventId } from "./ids.js";

/** Everything an incident runner needs: the controller's resolved configuration and services. */
export interface RuntimeContext {
  readonly store: Store;
  readonly policy: Policy;
  readonly enrichers: readonly Enricher[];
  /** What the source that opened an incident adds to its decision input (`SignalSource.decisionInput`). */
  readonly sourceInput: (incident: Incident) => Pick<DecisionInput, "argocd">;
  readonly remediators: readonly Remediator[];
  readonly verifiers: readonly Verifier[];
  readonly hooks: readonly ControllerHook[];
  readonly guardrails: Guardrails;
  /** Held while guardrails are checked and an action is recorded as started. */
  readonly gate: Mutex;
  /** Bounds how many incidents are enriched and decided at once. */
  readonly decisions: Semaphore;
  readonly instruments: Instruments;
  readonly notify: (notification: Notification) => void;
  /** Redacts with this controller's redactor already. */
  readonly logger: Logger;
  /**
   * The controller's redactor: the known credential shapes and its configured secrets. The
   * store, logger and notifications already apply it; anything that writes elsewhere (a
   * remediator's commit message and change request) is handed it.
   */
  readonly redactor: Redactor;
  /** This controller instance, written into every audit event. */
  readonly actor: string;
  readonly now: () => Date;
  readonly policyTimeoutMs: number;
  readonly historyWindowMs: number;
  readonly mergeTimeoutMs: number;
  /** Aborted when the controller closes: runners stop at the next checkpoint. */
  readonly stopping: AbortSignal;
  /**
   * Claims this instance holds on incidents, by incident id, when the store is shared by
   * several controllers (it has `claim`). Every write about the incident is fenced by it.
   */
  readonly claims: Map<string, Claim>;
  /** How long a claim lasts unless renewed. */
  readonly claimTtlMs: number;
  /** When decisions that failed for a dependency are made again. */
  readonly decisionRetry: DecisionRetryTiming;
  /** Run the incident again at `atMs` (epoch ms): it waits for something timed. */
  readonly wakeAt: (incidentId: string, atMs: number) => void;
}

/** Optional fields of an audit event. */
export interface EventFields {
  readonly action?: string;
  readonly idempotencyKey?: string;
  readonly dryRun?: boolean;
  readonly data?: JsonObject;
}

/** An audit event about an incident, credentials redacted with the controller's redactor. */
export function incidentEvent(
  context: RuntimeContext,
  incident: Incident,
  type: AuditEventType,
  message: string,
  fields: EventFields = {},
): AuditEvent {
  const event: AuditEvent = {
    id: eventId(),
    at: context.now().toISOString(),
    type,
    incidentId: incident.id,
    service: incident.service,
    actor: context.actor,
    message,
  };
  if (fields.action !== undefined) event.action = fields.action;
  if (fields.idempotencyKey !== undefined) event.idempotencyKey = fields.idempotencyKey;
  if (fields.dryRun !== undefined) event.dryRun = fields.dryRun;
  if (fields.data !== undefined) event.data = fields.data;
  return context.redactor.redactDeep(event);
}

/** A plain JSON object of a value (drops `undefined`, keeps what JSON keeps). */
export function toJson(value: unknown): JsonObject {
  return JSON.parse(JSON.stringify(value ?? {})) as JsonObject;
}
