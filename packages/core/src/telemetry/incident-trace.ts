import { randomBytes } from "node:crypto";
import { type Context, ROOT_CONTEXT, type SpanContext, TraceFlags, trace } from "@opentelemetry/api";
import { shortHash } from "../runtime/ids.js";

/**
 * The trace id of an incident: 32 hex characters derived from its id, so every stage of it lands
 * in one trace whichever controller replica runs the stage and however often it restarts, with
 * nothing to store. Printed in the audit trail (`incident.opened`) and the change-request body,
 * to find the incident in a tracing backend (Jaeger: `/trace/<id>`).
 */
export function incidentTraceId(incidentId: string): string {
  return nonZero(shortHash(["selfheal.trace", incidentId], 32));
}

/** The span id of an incident's root span (`selfheal.incident`), the parent of its stage spans. */
export function incidentRootSpanId(incidentId: string): string {
  return nonZero(shortHash(["selfheal.incident-span", incidentId], 16));
}

/** All-zero ids are invalid in W3C Trace Context; a hash that is all zeros is not worth a branch more. */
function nonZero(hex: string): string {
  return /^0+$/.test(hex) ? `${hex.slice(0, -1)}1` : hex;
}

/** The context the stage spans of an incident start in: its root span, as a remote parent. */
export function incidentTraceContext(incidentId: string): Context {
  const parent: SpanContext = {
    traceId: incidentTraceId(incidentId),
    spanId: incidentRootSpanId(incidentId),
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  };
  return trace.setSpanContext(ROOT_CONTEXT, parent);
}

/** What an OpenTelemetry SDK asks for ids (`IdGenerator` of `@opentelemetry/sdk-trace-base`). */
export interface SpanIdGenerator {
  generateTraceId(): string;
  generateSpanId(): string;
}

interface WantedIds {
  readonly traceId: string;
  readonly spanId: string;
}

/**
 * The ids `incidentIdGenerator` hands out while `withIncidentRootIds` runs. A plain variable, not
 * an `AsyncLocalStorage`: the root span is started synchronously inside it, and on Node 20 one
 * `AsyncLocalStorage#run` installs promise hooks that every promise of the process pays for
 * afterwards (1.3 to 1.7% of the controller's busy CPU time in two bench:webhook profiles).
 */
let wanted: WantedIds | undefined;

/**
 * The id generator to give a tracer provider (`new BasicTracerProvider({ idGenerator })`) so the
 * controller can write each incident's root span (`selfheal.incident`, from its opening to its
 * close) with the ids its stage spans already point at. Random ids otherwise, as the SDK's own.
 * With another generator the stage spans are still exported, in the incident's trace, under a
 * root span that is not.
 */
export function incidentIdGenerator(): SpanIdGenerator {
  return {
    generateTraceId: () => wanted?.traceId ?? randomBytes(16).toString("hex"),
    generateSpanId: () => wanted?.spanId ?? randomBytes(8).toString("hex"),
  };
}

/**
 * Run `fn` with `incidentIdGenerator` handing out the root span ids of `incidentId`. Only ids
 * asked for synchronously inside `fn` are these (start the span there, not after an await).
 */
export function withIncidentRootIds<T>(incidentId: string, fn: () => T): T {
  const outer = wanted;
  wanted = { traceId: incidentTraceId(incidentId), spanId: incidentRootSpanId(incidentId) };
  try {
    return fn();
  } finally {
    wanted = outer;
  }
}
