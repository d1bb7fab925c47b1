import { setMaxListeners } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { createRequestListener } from "../http/request-listener.js";
import { webhookServerOptions } from "../http/server-timeouts.js";
import { createNotificationDispatcher } from "../notify/dispatch-notifications.js";
import type { Remediator } from "../spec/remediator.js";
import type { Signal } from "../spec/signal.js";
import type { IngestEntry, IngestOutcome } from "../spec/store.js";
import { fileStore } from "../stores/file-store.js";
import { createInstruments } from "../telemetry/instruments.js";
import { Mutex, Semaphore } from "../util/async.js";
import { toMs } from "../util/duration.js";
import { jsonLogger, redactingLogger } from "../util/logger.js";
import { createRedactor } from "../util/redact.js";
import type { RuntimeContext } from "./context.js";
import type { Controller, ControllerSettings } from "./controller-types.js";
import { sourceDecisionInput } from "./decision-input.js";
import { createFollowUps } from "./follow-ups.js";
import { createGuardrails } from "./guardrails.js";
import { eventId, incidentIdFor } from "./ids.js";
import { type IntakeIdentity, ingestEntry, intakeIdentity } from "./intake.js";
import { refusedDeliveryEvent, rejectedItemEvents, truncatedBySource } from "./intake-records.js";
import { redactingStore } from "./redacting-store.js";
import { IncidentScheduler } from "./scheduler.js";

export type { Controller, ControllerSettings, ListenOptions } from "./controller-types.js";

/** Create a controller. See `ControllerSettings`. */
export function createController(settings: ControllerSettings): Controller {
  // This controller's own: its secrets are not another controller's in the same process.
  const redactor = createRedactor({ secrets: settings.secrets ?? [] });
  const logger = redactingLogger(settings.logger ?? jsonLogger(), redactor);
  const store = redactingStore(
    settings.store ?? fileStore(process.env.SELFHEAL_STATE_DIR ?? ".selfheal"),
    redactor,
  );
  const now = settings.now ?? (() => new Date());
  const actor = settings.instanceId ?? `${hostname()}:${process.pid}`;
  const sources = settings.sources ?? [];
  const remediators =
    settings.remediate === undefined
      ? []
      : Array.isArray(settings.remediate)
        ? settings.remediate
        : [settings.remediate as Remediator];
  const identity: IntakeIdentity = {
    keyOf: incidentKeyFunction(settings.incidentKey ?? ["service", "alertname"]),
    redactor,
  };
  const stopping = new AbortController();
  // Every call out listens for the stop; there are as many listeners as calls under way.
  setMaxListeners(0, stopping.signal);
  const instruments = createInstruments({
    ...(settings.meterProvider === undefined ? {} : { meterProvider: settings.meterProvider }),
    ...(settings.tracerProvider === undefined ? {} : { tracerProvider: settings.tracerProvider }),
    redactor,
  });
  const notifications = createNotificationDispatcher({
    notifiers: settings.notify ?? [],
    logger,
    redactor,
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
    sourceInput: sourceDecisionInput(sources),
    remediators,
    verifiers: settings.verify ?? [],
    hooks: settings.hooks ?? [],
    guardrails: createGuardrails(settings.guardrails ?? {}, store, settings.env ?? process.env),
    gate: new Mutex(),
    decisions: new Semaphore(settings.maxParallelDecisions ?? 16),
    instruments,
    notify: (notification) => notifications.send(notification),
    logger,
    redactor,
    actor,
    now,
    policyTimeoutMs: toMs(settings.policyTimeout ?? "5s", "policyTimeout"),
    historyWindowMs: toMs(settings.historyWindow ?? "24h", "historyWindow"),
    mergeTimeoutMs: toMs(settings.mergeTimeout ?? "24h", "mergeTimeout"),
    stopping: stopping.signal,
    claims: new Map(),
    claimTtlMs: toMs(settings.claimTtl ?? "30s", "claimTtl"),
    decisionRetry: {
      initialDelayMs: toMs(settings.decisionRetry?.initialDelay ?? "5s", "decisionRetry.initialDelay"),
      maxDelayMs: toMs(settings.decisionRetry?.maxDelay ?? "5m", "decisionRetry.maxDelay"),
      giveUpAfterMs: toMs(settings.decisionRetry?.giveUpAfter ?? "1h", "decisionRetry.giveUpAfter"),
    },
    wakeAt: (incidentId, atMs) => scheduler.wakeAt(incidentId, atMs),
  };
  const scheduler = new IncidentScheduler(context);
  const stopOpenGauge = instruments.openIncidents(() => scheduler.size);

  let started: Promise<void> | undefined;
  let pendingDeliveries = 0;
  const maxPendingDeliveries = settings.maxPendingDeliveries ?? 1000;
  let closing = false;
  let server: Server | undefined;
  const sourceTasks: Promise<void>[] = [];

  const ingest = async (entries: readonly IngestEntry[]): Promise<IngestOutcome[]> => {
    const outcomes = await store.ingest(entries);
    for (const [source, count] of truncatedBySource(entries.map((entry) => entry.signal))) {
      instruments.alertsTruncated(source, count);
    }
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
  const handle = async (signals: readonly Signal[]): Promise<IngestOutcome[]> => {
    if (signals.length === 0) return [];
    // The one intake gate: the store, and everything after it, sees redacted signals only.
    return ingest(signals.map((received) => ingestEntry(identity, received, actor)));
  };

  // Follow-ups fold by a key of their own (the order's), never by `incidentKey`: an outside
  // alert with the same service and alert name must not fold into one, nor one into it.
  const followUpKeyOf = (signal: Signal) => signal.dedupKey;
  const followUps = createFollowUps({
    store,
    ingest: async (signal, order) => {
      const key = followUpKeyOf(signal);
      const [outcome] = await ingest([
        {
          ...ingestEntry(identity, signal, actor),
          key,
          newIncidentId: incidentIdFor(key, signal.dedupKey),
          followUp: order,
        },
      ]);
      return outcome;
    },
    incidentIdsOf: (signal) => [
      incidentIdFor(followUpKeyOf(signal), signal.dedupKey),
      intakeIdentity(identity, signal).newIncidentId,
    ],
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
      // One durable write for all of them: after an outage there can be hundreds, and a commit
      // (an fsync) each kept the controller from starting for seconds.
      await store.appendEvents(
        open
          .filter((incident) => incident.state !== "received")
          .map((incident) => ({
            id: eventId(),
            at: now().toISOString(),
            type: "controller.resumed" as const,
            incidentId: incident.id,
            service: incident.service,
            actor,
            message: `resuming from ${incident.state}`,
            data: { state: incident.state },
          })),
      );
      for (const incident of open) scheduler.schedule(incident.id);
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
    accept: async (signals, source, rejected) => {
      pendingDeliveries++;
      try {
        await handle(signals);
        if (rejected.length > 0) {
          // After the valid signals: if this write fails, the 503 makes the sender retry, and the
          // signals already recorded are then duplicates.
          await store.appendEvents(rejectedItemEvents(rejected, source.name, actor, now()));
          instruments.signalsRejected(source.name, "item", rejected.length);
        }
      } finally {
        pendingDeliveries--;
      }
    },
    refused: async (refusal, source) => {
      instruments.signalsRejected(source.name, "delivery", 1);
      await store.appendEvents([refusedDeliveryEvent(refusal, source.name, actor, now())]);
    },
    accepting: () => !closing && pendingDeliveries < maxPendingDeliveries,
    health,
    readiness,
    logger,
    redactor,
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
      const timeouts = webhookServerOptions(options);
      await start();
      const listening = createServer(timeouts, requestListener);
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
      stopOpenGauge();
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
