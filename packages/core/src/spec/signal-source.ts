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
   * Turn a parsed JSON body into signals. Throw a `BadInputError` (with the JSON path of the
   * problem) for a body that will never be accepted: the server answers 400 and records nothing.
   */
  parse(
    body: unknown,
    context: { readonly receivedAt: Date; readonly headers: Readonly<Record<string, string>> },
  ): Signal[];
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
   * Start a pull source. `emit` resolves once the signals are durably recorded. The source
   * stops when `options.signal` aborts; the returned promise settles when it has stopped.
   */
  start?(
    emit: (signals: readonly Signal[]) => Promise<void>,
    options: { readonly signal: AbortSignal },
  ): Promise<void>;
}
