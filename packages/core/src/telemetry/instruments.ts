import {
  type Attributes,
  context,
  type MeterProvider,
  metrics,
  type Span,
  SpanStatusCode,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import { describeError } from "../errors/selfheal-error.js";
import type { Incident } from "../spec/incident.js";
import type { IngestOutcome } from "../spec/store.js";
import { createRedactor, type Redactor } from "../util/redact.js";
import { incidentRootSpanId, incidentTraceContext, withIncidentRootIds } from "./incident-trace.js";

/** Options of {@link createInstruments}. */
export interface InstrumentsOptions {
  /**
   * Where metrics go.
   * @default the global meter provider (`metrics.getMeterProvider()`)
   */
  readonly meterProvider?: MeterProvider;
  /**
   * Where spans go.
   * @default the global tracer provider (`trace.getTracerProvider()`)
   */
  readonly tracerProvider?: TracerProvider;
  /**
   * Redacts the messages and stacks of errors recorded on spans. The controller passes its own,
   * which knows its configured secrets.
   * @default createRedactor() (known credential shapes only)
   */
  readonly redactor?: Redactor;
}

/** How an action ended, as counted in `selfheal_actions_total`. */
export type ActionOutcome = "succeeded" | "failed" | "dry_run";

/** What became of a signal, as counted in `selfheal_signals_total`. */
export type SignalDisposition = IngestOutcome["disposition"];

/** What `selfheal_signals_rejected_total` counts: one item of a delivery, or a whole delivery. */
export type RejectionScope = "item" | "delivery";

/** The metrics and spans the controller records. Without an OpenTelemetry SDK they cost nothing. */
export interface Instruments {
  /** Count a finished action: `selfheal_actions_total{action, outcome}`. */
  actionFinished(action: string, outcome: ActionOutcome): void;
  /** Count an action a guardrail stopped: `selfheal_suppressed_total{reason}`. */
  suppressed(reason: string): void;
  /**
   * Count a closed incident, `selfheal_incidents_total{state}`, and record its time to
   * resolution in `selfheal_mttr_seconds` when given.
   */
  incidentClosed(state: string, mttrSeconds?: number): void;
  /**
   * Count a dependency that failed while an incident was decided:
   * `selfheal_decision_failures_total{dependency}` (an enricher's name, or `policy`).
   */
  decisionFailed(dependency: string): void;
  /** Count a received signal: `selfheal_signals_total{source, disposition}`. */
  signalReceived(source: string, disposition: SignalDisposition): void;
  /**
   * Count what a source could not accept: `selfheal_signals_rejected_total{source, scope}`, where
   * `scope` is `item` (one alert of a delivery, the rest accepted) or `delivery` (the whole
   * request refused after authentication).
   */
  signalsRejected(source: string, scope: RejectionScope, count: number): void;
  /**
   * Count alerts a sender left out of a delivery (Alertmanager's `truncatedAlerts`):
   * `selfheal_truncated_alerts_total{source}`.
   */
  alertsTruncated(source: string, count: number): void;
  /**
   * Report the number of open incidents as the gauge `selfheal_open_incidents`, read from
   * `callback` at every collection. Returns a function that stops reporting.
   */
  openIncidents(callback: () => number): () => void;
  /**
   * Run `fn` in an active span named `selfheal.<stage>`. A throw is recorded on the span
   * (message redacted) with error status, and rethrown; the span always ends. With `incidentId`
   * the span is a child of that incident's root span, in its trace ({@link incidentTraceId}).
   */
  span<T>(
    stage: string,
    attributes: Record<string, string | number | boolean>,
    fn: (span: Span) => Promise<T>,
    incidentId?: string,
  ): Promise<T>;
  /**
   * Write the root span of a closed incident, `selfheal.incident`, from its opening to its close,
   * with the ids its stage spans point at: the service, alert, action, commit and change request
   * as attributes. Exported only when the tracer provider uses {@link incidentIdGenerator} (the
   * span is dropped unended otherwise, so no stray root appears in another trace).
   */
  incidentTrace(incident: Incident): void;
}

const scopeName = "@selfheal/core";
const scopeVersion = "0.1.0";

/** Bucket boundaries of `selfheal_mttr_seconds`: one second to one hour. */
export const mttrBucketBoundaries: readonly number[] = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * The controller's metrics and spans, using only `@opentelemetry/api`: install any
 * OpenTelemetry SDK (or pass providers) to export them. Each call makes its own instruments,
 * so two controllers in one process can report to different providers.
 */
export function createInstruments(options: InstrumentsOptions = {}): Instruments {
  const meter =
    options.meterProvider?.getMeter(scopeName, scopeVersion) ?? metrics.getMeter(scopeName, scopeVersion);
  const tracer =
    options.tracerProvider?.getTracer(scopeName, scopeVersion) ?? trace.getTracer(scopeName, scopeVersion);
  const { redact } = options.redactor ?? createRedactor();

  const actions = meter.createCounter("selfheal_actions_total", {
    description: "Remediation actions finished, by action and outcome (succeeded, failed, dry_run).",
    unit: "{action}",
  });
  const suppressions = meter.createCounter("selfheal_suppressed_total", {
    description: "Actions a guardrail stopped, by reason (rate_limit, cooldown, kill_switch, ...).",
    unit: "{action}",
  });
  const incidents = meter.createCounter("selfheal_incidents_total", {
    description: "Incidents closed, by final state (resolved, suppressed, escalated, cancelled, no_action).",
    unit: "{incident}",
  });
  const mttr = meter.createHistogram("selfheal_mttr_seconds", {
    description: "Time from opening an incident to closing it, in seconds.",
    unit: "s",
    advice: { explicitBucketBoundaries: [...mttrBucketBoundaries] },
  });
  const signals = meter.createCounter("selfheal_signals_total", {
    description:
      "Signals received, by source and disposition (opened an incident, folded into one, duplicate, unmatched).",
    unit: "{signal}",
  });
  const decisionFailures = meter.createCounter("selfheal_decision_failures_total", {
    description: "Dependencies (enrichers' sources, the policy) that failed while an incident was decided.",
    unit: "{failure}",
  });
  const rejections = meter.createCounter("selfheal_signals_rejected_total", {
    description:
      "What a source could not accept, by source and scope (item: one alert of a delivery whose others were accepted; delivery: a whole authenticated request refused).",
    unit: "{signal}",
  });
  const truncated = meter.createCounter("selfheal_truncated_alerts_total", {
    description:
      "Alerts a sender left out of the deliveries received (Alertmanager truncatedAlerts, max_alerts), by source; retries count again.",
    unit: "{alert}",
  });
  const openGauge = meter.createObservableGauge("selfheal_open_incidents", {
    description: "Incidents open now (not in a closed state).",
    unit: "{incident}",
  });

  return {
    actionFinished(action, outcome) {
      actions.add(1, { action, outcome });
    },
    suppressed(reason) {
      suppressions.add(1, { reason });
    },
    incidentClosed(state, mttrSeconds) {
      incidents.add(1, { state });
      if (mttrSeconds !== undefined && Number.isFinite(mttrSeconds) && mttrSeconds >= 0) {
        mttr.record(mttrSeconds, { state });
      }
    },
    decisionFailed(dependency) {
      decisionFailures.add(1, { dependency });
    },
    signalReceived(source, disposition) {
      signals.add(1, { source, disposition });
    },
    signalsRejected(source, scope, count) {
      if (count > 0) rejections.add(count, { source, scope });
    },
    alertsTruncated(source, count) {
      if (count > 0) truncated.add(count, { source });
    },
    openIncidents(callback) {
      const observe = (result: { observe(value: number): void }) => {
        result.observe(callback());
      };
      openGauge.addCallback(observe);
      return () => openGauge.removeCallback(observe);
    },
    incidentTrace(incident) {
      if (incident.closedAt === undefined) return;
      const root = withIncidentRootIds(incident.id, () =>
        tracer.startSpan("selfheal.incident", {
          root: true,
          startTime: new Date(incident.openedAt),
          attributes: incidentAttributes(incident),
        }),
      );
      // Another id generator: the span is not the root its stages point at, so it is never ended
      // (an SDK exports spans when they end).
      if (root.spanContext().spanId !== incidentRootSpanId(incident.id)) return;
      if (incident.state !== "resolved" && incident.state !== "no_action" && incident.state !== "cancelled") {
        root.setStatus({
          code: SpanStatusCode.ERROR,
          message: redact(incident.closeReason ?? incident.state),
        });
      }
      root.end(new Date(incident.closedAt));
    },
    span(stage, attributes, fn, incidentId) {
      const parent = incidentId === undefined ? context.active() : incidentTraceContext(incidentId);
      return tracer.startActiveSpan(`selfheal.${stage}`, { attributes }, parent, async (span) => {
        try {
          return await fn(span);
        } catch (error) {
          const message = redact(describeError(error));
          span.recordException({
            name: error instanceof Error ? error.name : "Error",
            message,
            ...(error instanceof Error && error.stack !== undefined ? { stack: redact(error.stack) } : {}),
          });
          span.setStatus({ code: SpanStatusCode.ERROR, message });
          throw error;
        } finally {
          span.end();
        }
      });
    },
  };
}

/** What the root span of an incident says of it: the service, alert, action, commit and change request. */
function incidentAttributes(incident: Incident): Attributes {
  const attributes: Attributes = {
    "selfheal.incident": incident.id,
    "selfheal.service": incident.service,
    "selfheal.alertname": incident.alertname,
    "selfheal.state": incident.state,
  };
  const action = incident.plan?.action ?? incident.decision?.action;
  if (action !== undefined) attributes["selfheal.action"] = action;
  if (incident.decision?.policy !== undefined) attributes["selfheal.policy"] = incident.decision.policy;
  if (incident.result?.revision !== undefined) attributes["selfheal.commit"] = incident.result.revision;
  if (incident.result?.changeRequest !== undefined) {
    attributes["selfheal.change_request.url"] = incident.result.changeRequest.url;
  }
  if (incident.suppression !== undefined) attributes["selfheal.suppressed"] = incident.suppression.reason;
  return attributes;
}
