import type { RequestListener } from "node:http";
import type { MeterProvider, TracerProvider } from "@opentelemetry/api";
import type { ServerTimeouts } from "../http/server-timeouts.js";
import type { ControllerHook } from "../spec/controller-hook.js";
import type { Enricher } from "../spec/enricher.js";
import type { Notifier } from "../spec/notifier.js";
import type { Policy } from "../spec/policy.js";
import type { Remediator } from "../spec/remediator.js";
import type { Signal } from "../spec/signal.js";
import type { SignalSource } from "../spec/signal-source.js";
import type { IngestOutcome, Store } from "../spec/store.js";
import type { Verifier } from "../spec/verifier.js";
import type { Duration } from "../util/duration.js";
import type { Logger } from "../util/logger.js";
import type { GuardrailSettings } from "./guardrails.js";

/** Settings of `createController`. Only `policy` is required. */
export interface ControllerSettings {
  /** Where signals come from (`alertmanagerWebhook()`). */
  readonly sources?: readonly SignalSource[];
  /** Add facts before deciding, in order. */
  readonly enrich?: readonly Enricher[];
  /** Decides what to do (`builtinPolicy()`, `opaPolicy()`). */
  readonly policy: Policy;
  /** Carry out decisions; the first that supports an action carries it out. */
  readonly remediate?: Remediator | readonly Remediator[];
  /** Check that an action worked: sync verifiers, then recovery verifiers. */
  readonly verify?: readonly Verifier[];
  /** Work around a remediation (silence the alert while it is in flight). Never blocks. */
  readonly hooks?: readonly ControllerHook[];
  /** Tell people. Never block or fail a remediation. */
  readonly notify?: readonly Notifier[];
  /** Limits applied after every decision. */
  readonly guardrails?: GuardrailSettings;
  /**
   * Where state and the audit trail live.
   * @default fileStore(process.env.SELFHEAL_STATE_DIR ?? ".selfheal")
   */
  readonly store?: Store;
  /**
   * What folds signals into one incident: label names whose values form the key, or a function.
   * @default ["service", "alertname"]
   */
  readonly incidentKey?: readonly string[] | ((signal: Signal) => string);
  /**
   * How long a policy may take before it counts as failed (no action, escalate).
   * @default "5s"
   */
  readonly policyTimeout?: Duration;
  /**
   * How far back `input.history` reaches.
   * @default "24h"
   */
  readonly historyWindow?: Duration;
  /**
   * How long a change request may wait for its merge before the incident fails.
   * @default "24h"
   */
  readonly mergeTimeout?: Duration;
  /**
   * How many incidents may be enriched and decided at once (a storm must not flood
   * Prometheus or OPA). Incidents past it wait their turn.
   * @default 16
   */
  readonly maxParallelDecisions?: number;
  /**
   * A decision that comes to nothing because a dependency failed (an enricher's source such as
   * Prometheus, or the policy: OPA unreachable or timing out) is recorded as `decision.failed`
   * and made again after `initialDelay`, doubling up to `maxDelay`, while the alert fires; after
   * `giveUpAfter` since the incident opened it is closed as escalated with the cause.
   * @default { initialDelay: "5s", maxDelay: "5m", giveUpAfter: "1h" }
   */
  readonly decisionRetry?: {
    readonly initialDelay?: Duration;
    readonly maxDelay?: Duration;
    readonly giveUpAfter?: Duration;
  };
  /**
   * How many webhook deliveries may wait for the store at once. Past it the webhook answers 503
   * (Alertmanager retries it) instead of queueing without bound when the store is slow.
   * @default 1000
   */
  readonly maxPendingDeliveries?: number;
  /**
   * Name of this controller instance in the audit trail.
   * @default `${hostname()}:${process.pid}`
   */
  readonly instanceId?: string;
  /**
   * Every line is redacted with the controller's redactor before it reaches this logger.
   * @default jsonLogger()
   */
  readonly logger?: Logger;
  /**
   * Secret values this controller must never store, log, notify or write to a commit or
   * change request, whatever they look like: give every credential the controller is
   * configured with (forge tokens, webhook passwords, notifier URLs, database passwords).
   * They are replaced by `[REDACTED]` wherever they appear, like the credential shapes
   * `redact` knows (GitHub/GitLab/Slack tokens, AWS keys, JWTs, private keys, URL
   * credentials, `password=`-style pairs). Values shorter than 8 characters are not looked
   * for as text. Each controller redacts with its own secrets.
   * @default []
   */
  readonly secrets?: readonly string[];
  /** OpenTelemetry providers; by default the global ones the application registered. */
  readonly meterProvider?: MeterProvider;
  readonly tracerProvider?: TracerProvider;
  /** Environment read at run time (kill switch variable). @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * How often due follow-ups of time-boxed actions (a scale-up's revert) are looked for.
   * @default "30s"
   */
  readonly followUpInterval?: Duration;
  /**
   * With a store shared by several controllers (one with claims, such as PostgreSQL): how long
   * a controller's claim on an incident lasts unless renewed. A controller that dies holding
   * one is taken over by another after this long; open incidents are also swept this often.
   * @default "30s"
   */
  readonly claimTtl?: Duration;
  /** Clock, for tests. @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Where `listen` answers, and how long it waits on clients (see `ServerTimeouts`: a stalled
 * or trickling client is disconnected; an idle kept-alive connection outlives Alertmanager's).
 */
export interface ListenOptions extends ServerTimeouts {
  /** @default 9090 */
  readonly port?: number;
  /** @default "0.0.0.0" */
  readonly host?: string;
}

/** A running controller. */
export interface Controller {
  /**
   * The store the controller writes to: the one given, with every incident and event written
   * through it redacted by the controller's redactor first (reads are the store's own).
   */
  readonly store: Store;
  /** Resume open incidents and start pull sources. `listen` calls it; embedders may call it alone. */
  start(): Promise<void>;
  /**
   * Open the follow-ups that are due now (time-boxed actions whose time is up and whose
   * service is healthy); the controller does this every `followUpInterval` by itself.
   * Resolves with how many incidents were opened.
   */
  checkFollowUps(): Promise<number>;
  /** Start, and serve the sources' webhook routes and `/healthz`, `/readyz` over HTTP. */
  listen(
    options?: ListenOptions,
  ): Promise<{ readonly port: number; readonly host: string; readonly url: string }>;
  /** The HTTP handler, to mount in a server of your own. */
  readonly requestListener: RequestListener;
  /**
   * Record signals (durably, deduplicated, folded into incidents) and start working on the
   * incidents they touch. Resolves once recorded, not once handled.
   */
  handle(signals: readonly Signal[]): Promise<IngestOutcome[]>;
  /** Resolves when no incident is being worked on. */
  settled(): Promise<void>;
  /** Close the circuit of a service after its breaker opened. */
  resetCircuit(service: string, options?: { readonly by?: string; readonly reason?: string }): Promise<void>;
  /** Liveness and readiness, as `/healthz` and `/readyz` answer them. */
  health(): { ok: boolean; details?: Record<string, unknown> };
  readiness(): Promise<{ ready: boolean; checks: Record<string, string> }>;
  /**
   * Stop gracefully: refuse new signals (503), let running steps finish and checkpoint (a side
   * effect under way is awaited; waits are abandoned and resume after restart), then close.
   */
  close(options?: { readonly timeout?: Duration }): Promise<void>;
}
