import { setMaxListeners } from "node:events";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import type { MeterProvider, TracerProvider } from "@opentelemetry/api";
import { createRequestListener } from "../http/request-listener.js";
import { createNotificationDispatcher } from "../notify/dispatch-notifications.js";
import type { Enricher } from "../spec/enricher.js";
import type { Notifier } from "../spec/notifier.js";
import type { Policy } from "../spec/policy.js";
import type { Remediator } from "../spec/remediator.js";
import type { Signal } from "../spec/signal.js";
import type { SignalSource } from "../spec/signal-source.js";
import type { IngestOutcome, Store } from "../spec/store.js";
import type { Verifier } from "../spec/verifier.js";
import { fileStore } from "../stores/file-store.js";
import { createInstruments } from "../telemetry/instruments.js";
import { Mutex, Semaphore } from "../util/async.js";
import { type Duration, toMs } from "../util/duration.js";
import { jsonLogger, type Logger } from "../util/logger.js";
import type { RuntimeContext } from "./context.js";
import { createFollowUps } from "./follow-ups.js";
import { createGuardrails, type GuardrailSettings } from "./guardrails.js";
import { eventId, incidentIdFor } from "./ids.js";
import { IncidentScheduler } from "./scheduler.js";

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
  /** @default jsonLogger() */
  readonly logger?: Logger;
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

/** Where `listen` answers. */
export interface ListenOptions {
  /** @default 9090 */
  readonly port?: number;
  /** @default "0.0.0.0" */
  readonly host?: string;
}

/** A running controller. */
export interface Controller {
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

/** Create a controller. See `ControllerSettings`. */
export function createController(settings: ControllerSettings): Controller {
  const logger = settings.logger ?? jsonLogger();
  const store = settings.store ?? fileStore(process.env.SELFHEAL_STATE_DIR ?? ".selfheal");
  const now = settings.now ?? (() => new Date());
  const actor = settings.instanceId ?? `${hostname()}:${process.pid}`;
  const sources = settings.sources ?? [];
  const remediators =
    settings.remediate === undefined
      ? []
      : Array.isArray(settings.remediate)
        ? settings.remediate
        : [settings.remediate as Remediator];
  const keyOf = incidentKeyFunction(settings.incidentKey ?? ["service", "alertname"]);
  const stopping = new AbortController();
  // Every call out listens for the stop; there are as many listeners as calls under way.
  setMaxListeners(0, stopping.signal);
  const instruments = createInstruments({
    ...(settings.meterProvider === undefined ? {} : { meterProvider: settings.meterProvider }),
    ...(settings.tracerProvider === undefined ? {} : { tracerProvider: settings.tracerProvider }),
  });
  const notifications = createNotificationDispatcher({
    notifiers: settings.notify ?? [],
    logger,
    record: (outcome) =>
      store.appendEvents([
        {
          id: eventId(),
          at: now().toISOString(),
          type: outcome.ok ? "notification.sent" : "notification.failed",
          incidentId: outcome.incidentId,
          actor,
          message: `${outcome.notifier} ${outcome.kind}: ${outcome.ok ? "sent" : outcome.error}`,
          data: { notifier: outcome.notifier, kind: outcome.kind, attempts: outcome.attempts },
        },
      ]),
  });
  const context: RuntimeContext = {
    store,
    policy: settings.policy,
    enrichers: settings.enrich ?? [],
    remediators,
    verifiers: settings.verify ?? [],
    guardrails: createGuardrails(settings.guardrails ?? {}, store, settings.env ?? process.env),
    gate: new Mutex(),
    decisions: new Semaphore(settings.maxParallelDecisions ?? 16),
    instruments,
    notify: (notification) => notifications.send(notification),
    logger,
    actor,
    now,
    policyTimeoutMs: toMs(settings.policyTimeout ?? "5s", "policyTimeout"),
    historyWindowMs: toMs(settings.historyWindow ?? "24h", "historyWindow"),
    mergeTimeoutMs: toMs(settings.mergeTimeout ?? "24h", "mergeTimeout"),
    stopping: stopping.signal,
    claims: new Map(),
    claimTtlMs: toMs(settings.claimTtl ?? "30s", "claimTtl"),
  };
  const scheduler = new IncidentScheduler(context);
  instruments.openIncidents(() => scheduler.size);

  let started: Promise<void> | undefined;
  let pendingDeliveries = 0;
  const maxPendingDeliveries = settings.maxPendingDeliveries ?? 1000;
  let closing = false;
  let server: Server | undefined;
  const sourceTasks: Promise<void>[] = [];

  const handle = async (signals: readonly Signal[]): Promise<IngestOutcome[]> => {
    if (signals.length === 0) return [];
    const entries = signals.map((signal) => {
      const key = keyOf(signal);
      return { signal, key, newIncidentId: incidentIdFor(key, signal.dedupKey), actor };
    });
    const outcomes = await store.ingest(entries);
    outcomes.forEach((outcome, index) => {
      instruments.signalReceived(entries[index]?.signal.source ?? "unknown", outcome.disposition);
      if (
        outcome.incident !== undefined &&
        (outcome.disposition === "opened" || outcome.disposition === "folded")
      ) {
        scheduler.schedule(outcome.incident.id);
      }
    });
    return outcomes;
  };

  const followUps = createFollowUps({
    store,
    handle,
    incidentIdOf: (signal) => incidentIdFor(keyOf(signal), signal.dedupKey),
    now,
    logger,
  });
  const followUpIntervalMs = toMs(settings.followUpInterval ?? "30s", "followUpInterval");
  let followUpTimer: NodeJS.Timeout | undefined;
  let sweepTimer: NodeJS.Timeout | undefined;
  let followUpCheck: Promise<unknown> = Promise.resolve();

  const start = (): Promise<void> => {
    started ??= (async () => {
      const open = await store.listIncidents({ open: true });
      for (const incident of open) {
        if (incident.state !== "received") {
          await store.appendEvents([
            {
              id: eventId(),
              at: now().toISOString(),
              type: "controller.resumed",
              incidentId: incident.id,
              service: incident.service,
              actor,
              message: `resuming from ${incident.state}`,
              data: { state: incident.state },
            },
          ]);
        }
        scheduler.schedule(incident.id);
      }
      if (open.length > 0) logger.info(`resuming ${open.length} open incident(s)`);
      followUpTimer = setInterval(() => {
        followUpCheck = followUpCheck
          .then(() => followUps.check())
          .catch((error: unknown) => logger.warn("follow-up check failed", { error }));
      }, followUpIntervalMs);
      followUpTimer.unref();
      if (store.claim !== undefined) {
        // Several controllers share the store and each got the same alerts: an incident that
        // another one opened (or held and then dropped) is found here.
        sweepTimer = setInterval(() => {
          void store
            .listIncidents({ open: true })
            .then((incidents) => {
              for (const incident of incidents)
                if (!scheduler.knows(incident.id)) scheduler.schedule(incident.id);
            })
            .catch((error: unknown) => logger.warn("sweep of open incidents failed", { error }));
        }, context.claimTtlMs);
        sweepTimer.unref();
      }
      for (const source of sources) {
        if (source.start === undefined) continue;
        sourceTasks.push(
          source
            .start(async (signals) => void (await handle(signals)), { signal: stopping.signal })
            .catch((error: unknown) => {
              logger.error(`source ${source.name} stopped`, { error });
            }),
        );
      }
    })();
    return started;
  };

  const health = () => ({ ok: !closing, details: { instance: actor, working: scheduler.size } });
  const readiness = async () => {
    const checks: Record<string, string> = {};
    checks.controller = closing ? "closing" : started === undefined ? "not started" : "ok";
    checks.store = (await store.ready?.().catch(() => false)) === false ? "not ready" : "ok";
    if (settings.policy.ready !== undefined) {
      const ready = await settings.policy.ready({ signal: AbortSignal.timeout(2000) }).catch(() => false);
      checks.policy = ready ? "ok" : "not ready";
    }
    return { ready: Object.values(checks).every((value) => value === "ok"), checks };
  };
  const requestListener = createRequestListener({
    sources,
    accept: async (signals) => {
      pendingDeliveries++;
      try {
        await handle(signals);
      } finally {
        pendingDeliveries--;
      }
    },
    accepting: () => !closing && pendingDeliveries < maxPendingDeliveries,
    health,
    readiness,
    logger,
  });

  return {
    store,
    start,
    checkFollowUps: () => followUps.check(),
    requestListener,
    handle,
    settled: () => scheduler.settled(),
    health,
    readiness,
    async listen(options = {}) {
      await start();
      const listening = createServer(requestListener);
      server = listening;
      await new Promise<void>((resolve, reject) => {
        listening.once("error", reject);
        listening.listen(options.port ?? 9090, options.host ?? "0.0.0.0", () => resolve());
      });
      const address = listening.address() as AddressInfo;
      const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
      logger.info(`listening on ${host}:${address.port}`);
      return { port: address.port, host: address.address, url: `http://${host}:${address.port}` };
    },
    async resetCircuit(service, options = {}) {
      await store.appendEvents([
        {
          id: eventId(),
          at: now().toISOString(),
          type: "circuit.reset",
          service,
          actor,
          message: `circuit reset by ${options.by ?? "operator"}${options.reason === undefined ? "" : `: ${options.reason}`}`,
        },
      ]);
    },
    async close(options = {}) {
      if (closing) return;
      closing = true;
      const timeoutMs = toMs(options.timeout ?? "30s", "close.timeout");
      stopping.abort(new Error("controller closing"));
      clearInterval(followUpTimer);
      clearInterval(sweepTimer);
      scheduler.stopWaiting();
      await followUpCheck;
      const serverClosed =
        server === undefined
          ? Promise.resolve()
          : new Promise<void>((resolve) => server?.close(() => resolve()));
      server?.closeIdleConnections();
      await Promise.race([
        Promise.all([scheduler.settled(), ...sourceTasks]),
        new Promise((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
      await notifications.drain(Math.min(timeoutMs, 5000));
      server?.closeAllConnections();
      await serverClosed;
      await store.close();
    },
  };
}

function incidentKeyFunction(
  key: readonly string[] | ((signal: Signal) => string),
): (signal: Signal) => string {
  if (typeof key === "function") return key;
  return (signal) =>
    key
      .map((label) =>
        label === "service"
          ? signal.service
          : label === "alertname"
            ? signal.alertname
            : (signal.labels[label] ?? ""),
      )
      .join("/");
}
