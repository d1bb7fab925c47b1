import type { DecisionInput } from "./decision.js";
import type { Incident } from "./incident.js";
import type { Signal } from "./signal.js";

/** Credentials a push source demands of its callers. Compared in constant time. */
export type WebhookAuth =
  | { readonly bearer: string }
  | { readonly basic: { readonly username: string; readonly password: string } };

/** What a push source's HTTP route looks like; the core's webhook server does the HTTP work. */
export interface SignalSourceRoute {
  /** Path the route answers, e.g. `/webhook/alertmanager`. Only `POST` is accepted. */
  readonly path: string;
  /**
   * Largest body accepted, in bytes; larger bodies get 413.
   * @default 1_048_576
   */
  readonly maxBodyBytes?: number;
  /** Credentials required of callers; absent means no authentication. */
  readonly auth?: WebhookAuth;
  /**
   * Turn a parsed JSON body into signals.
   *
   * - Throw a `BadInputError` (with the JSON path of the problem) for a body that will never be
   *   accepted as a whole (not the expected shape or version): the server answers 400 and
   *   records no signal, only a `signal.rejected` event with the reason.
   * - Return `{ signals, rejected }` when only some items of the body are bad: the server
   *   records the valid signals, one `signal.rejected` event per rejected item, and answers 200
   *   with both counts. Alertmanager never retries a 4xx, so refusing the whole notification for
   *   one bad alert would lose the good ones beside it.
   * - Returning a plain `Signal[]` (sources written before `rejected` existed) means nothing was
   *   rejected.
   */
  parse(
    body: unknown,
    context: { readonly receivedAt: Date; readonly headers: Readonly<Record<string, string>> },
  ): Signal[] | SignalParseResult;
}

/**
 * One item of a pushed body that could not become a signal, while the rest of the body could.
 * Carries where and why, never the item itself: its content is untrusted and may hold secrets.
 */
export interface RejectedItem {
  /** Position of the item in the body's list (Alertmanager: index in `alerts`). */
  readonly index: number;
  /** JSON path of the problem from the body's root (`alerts[2].labels.alertname`). */
  readonly path: string;
  /** What was wrong, in words (no credentials: it is stored and answered). */
  readonly reason: string;
  /** Stable identity of the item when it could be read (Alertmanager's fingerprint). */
  readonly fingerprint?: string;
}

/** What `SignalSourceRoute.parse` returns when some items of a body were rejected. */
export interface SignalParseResult {
  /** The items that became signals. */
  readonly signals: Signal[];
  /** The items that did not, each with its reason. */
  readonly rejected: readonly RejectedItem[];
}

/**
 * Where signals come from. A source either answers HTTP pushes (`route`), or pulls and
 * emits on its own (`start`), or both.
 */
export interface SignalSource {
  /** Unique name of this source within a controller (`alertmanager`). */
  readonly name: string;
  /** The HTTP route of a push source (Alertmanager webhook). */
  readonly route?: SignalSourceRoute;
  /**
   * Facts for the decision input of an incident this source opened, read back from what its own
   * signals recorded (an Argo CD notification's revision and status). Called only for incidents
   * whose `source` is this source's name, so another source's signal cannot pass for one of its
   * by carrying the same labels.
   */
  decisionInput?(incident: Incident): Pick<DecisionInput, "argocd">;
  /**
   * Start a pull source. `emit` resolves once the signals are durably recorded. The source
   * stops when `options.signal` aborts; the returned promise settles when it has stopped.
   */
  start?(
    emit: (signals: readonly Signal[]) => Promise<void>,
    options: { readonly signal: AbortSignal },
  ): Promise<void>;
}
