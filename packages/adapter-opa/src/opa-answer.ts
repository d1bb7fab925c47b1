import { Decision, redact, SelfHealError } from "@selfheal/core";
import { z } from "zod";
import type { OpaExchange } from "./opa-transport.js";

/** The Data API answer (`DataResponseV1`), only the keys we read. `result` is absent when undefined. */
const DataResponse = z.object({
  result: z.unknown().optional(),
  decision_id: z.string().optional(),
  /** With `?metrics=true`: OPA's timers; we read the time its HTTP handler took. */
  metrics: z.object({ timer_server_handler_ns: z.number().optional() }).optional(),
});

/** OPA's error body (`ErrorV1`), only the keys we read. */
const ErrorResponse = z.object({
  code: z.string(),
  message: z.string(),
  errors: z.array(z.object({ code: z.string().optional(), message: z.string().optional() })).optional(),
});

/** Transport errors about the server's certificate (Node's TLS error codes and messages). */
const tlsTrouble = /certificate|CERT_|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/i;

/** Where the decision was asked, for reasons an on-call engineer can act on. */
export interface DecisionCall {
  /** The policy's name (`opa:selfheal/decision`). */
  readonly name: string;
  /** The package path (`selfheal/decision`). */
  readonly path: string;
  /** `POST http://opa:8181/v1/data/selfheal/decision`. */
  readonly request: string;
  readonly timeoutMs: number;
  /** Receives OPA's own handler time (nanoseconds) when the answer carries `metrics`. */
  readonly onServerTime?: (nanoseconds: number) => void;
}

/**
 * Turn what OPA answered into a decision.
 *
 * OPA that could not answer (a timeout, unreachable, a 5xx or 429 after the retries) is an outage:
 * it throws an {@link OpaUnavailableError} (retryable), which the controller records as a failed
 * decision and decides again later while the alert fires. A cancelled call throws too.
 *
 * An answer that will not get better by asking again (a 4xx, an undefined document, a result that
 * is not a `Decision`) fails closed as a value: `none`, `escalate`, and a reason that says what
 * went wrong and where. OPA's `decision_id` is kept either way, so the audit trail leads to OPA's
 * decision log.
 */
export function decisionFrom(exchange: OpaExchange, call: DecisionCall): Decision {
  const answer = answerFrom(exchange, call);
  if (answer.kind === "failed") return answer.decision;
  return asDecision(answer.result, call, answer.decisionId, where(exchange, call));
}

/**
 * Turn what OPA answered to a batch (`{"input": {"batch": [...]}}` at the batch rule) into one
 * decision per input, in order. Fails, throws and fails closed as {@link decisionFrom} does, for
 * the whole batch when the answer as a whole is unusable (every input gets the same reason), and
 * for one input when only its element is not a decision. The decision id of element `i` is OPA's
 * id of the request followed by `#i`: the entry in OPA's decision log and the place in its input.
 */
export function decisionsFrom(exchange: OpaExchange, call: DecisionCall, count: number): Decision[] {
  const answer = answerFrom(exchange, call);
  if (answer.kind === "failed") return Array.from({ length: count }, () => answer.decision);
  const { result, decisionId } = answer;
  if (!Array.isArray(result) || result.length !== count) {
    const found = Array.isArray(result) ? `a list of ${result.length}` : describeType(result);
    const decision = failClosed(
      call,
      `the result at ${call.path} is not a list of ${count} decisions, one per input of the batch: found ${found} (${where(exchange, call)})`,
      decisionId,
    );
    return Array.from({ length: count }, () => decision);
  }
  return result.map((element: unknown, index) =>
    asDecision(
      element,
      call,
      decisionId === undefined ? undefined : `${decisionId}#${index}`,
      where(exchange, call),
      `[${index}]`,
    ),
  );
}

/** What OPA's answer holds, or the fail-closed decision it already means. */
type Answer =
  | { readonly kind: "result"; readonly result: unknown; readonly decisionId: string | undefined }
  | { readonly kind: "failed"; readonly decision: Decision };

function answerFrom(exchange: OpaExchange, call: DecisionCall): Answer {
  const at = where(exchange, call);
  switch (exchange.kind) {
    case "timeout":
      throw unavailable(call, `timeout after ${call.timeoutMs} ms (${at})`);
    case "cancelled":
      throw new SelfHealError(`policy ${call.name}: cancelled by the caller before OPA answered (${at})`, {
        adapter: "opa",
        operation: "decide",
        url: call.request,
      });
    case "unreachable":
      // A certificate OPA's server does not pass will not pass later either: a setting to fix.
      if (tlsTrouble.test(exchange.detail)) {
        return { kind: "failed", decision: failClosed(call, `OPA unreachable: ${exchange.detail} (${at})`) };
      }
      throw unavailable(call, `OPA unreachable: ${exchange.detail} (${at})`);
    case "answered":
      break;
  }
  const json = parseJson(exchange.body);
  if (exchange.status >= 500 || exchange.status === 429) {
    throw unavailable(
      call,
      `OPA answered HTTP ${exchange.status}${describeOpaError(json)} (${at})`,
      exchange.status,
    );
  }
  if (exchange.status !== 200) {
    return {
      kind: "failed",
      decision: failClosed(call, `OPA answered HTTP ${exchange.status}${describeOpaError(json)} (${at})`),
    };
  }
  const parsed = DataResponse.safeParse(json);
  if (json === undefined || !parsed.success) {
    return {
      kind: "failed",
      decision: failClosed(call, `OPA answered HTTP 200 with a body that is not a Data API response (${at})`),
    };
  }
  const decisionId = parsed.data.decision_id;
  const serverNs = parsed.data.metrics?.timer_server_handler_ns;
  if (serverNs !== undefined) call.onServerTime?.(serverNs);
  // Undefined is not `null` or `false`: the key is absent (no rule matched, or no such package).
  if (!Object.hasOwn(json as object, "result")) {
    const document = `data.${call.path.replaceAll("/", ".")}`;
    return {
      kind: "failed",
      decision: failClosed(
        call,
        `undefined document at ${call.path} (${document}): OPA answered HTTP 200 without "result"; is the policy loaded? (${at})`,
        decisionId,
      ),
    };
  }
  return { kind: "result", result: parsed.data.result, decisionId };
}

/** A result (or one element of a batch's, `element` saying which) checked as a `Decision`. */
function asDecision(
  result: unknown,
  call: DecisionCall,
  decisionId: string | undefined,
  at: string,
  element = "",
): Decision {
  const decision = Decision.safeParse(result);
  if (!decision.success) {
    const issue = decision.error.issues[0];
    const detail = issue === undefined ? "" : `: ${issue.path.join(".") || "(root)"} ${issue.message}`;
    return failClosed(
      call,
      `the result${element} at ${call.path} is not a decision${detail} (${at})`,
      decisionId,
    );
  }
  return decisionId === undefined ? decision.data : { ...decision.data, decision_id: decisionId };
}

function where(exchange: OpaExchange, call: DecisionCall): string {
  return `${call.request}, ${attemptsText(exchange.attempts)}`;
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * OPA could not answer: a timeout, an unreachable server, a 5xx or 429 after the retries. Retryable:
 * the controller records the failure and decides the incident again later.
 */
export class OpaUnavailableError extends SelfHealError {
  constructor(message: string, options: { readonly url: string; readonly status?: number }) {
    super(message, {
      adapter: "opa",
      operation: "decide",
      url: options.url,
      retryable: true,
      ...(options.status === undefined ? {} : { status: options.status }),
    });
    this.name = "OpaUnavailableError";
  }
}

function unavailable(call: DecisionCall, what: string, status?: number): OpaUnavailableError {
  return new OpaUnavailableError(`policy ${call.name} could not decide: ${what}`, {
    url: call.request,
    ...(status === undefined ? {} : { status }),
  });
}

function failClosed(call: DecisionCall, what: string, decisionId?: string): Decision {
  const reason = redact(`policy ${call.name} failed closed: ${what}`);
  const decision: Decision = { action: "none", params: {}, reason, escalate: true };
  return decisionId === undefined ? decision : { ...decision, decision_id: decisionId };
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}

/** ` internal_error: error(s) occurred while evaluating query: eval_conflict_error: ...` */
function describeOpaError(json: unknown): string {
  const parsed = ErrorResponse.safeParse(json);
  if (!parsed.success) return "";
  const details = (parsed.data.errors ?? [])
    .map((error) => [error.code, error.message].filter((part) => part !== undefined).join(": "))
    .filter((text) => text !== "");
  const message = `${parsed.data.code}: ${parsed.data.message}`;
  return ` ${details.length === 0 ? message : `${message}: ${details.join("; ")}`}`.slice(0, 500);
}

function attemptsText(attempts: number): string {
  return attempts === 1 ? "1 attempt" : `${attempts} attempts`;
}
