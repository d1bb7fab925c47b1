import { redact } from "../util/redact.js";

const marker = Symbol.for("selfheal.error");

/** Where an error happened: enough to find the request or incident, never a secret. */
export interface ErrorContext {
  /** The incident being worked on. */
  readonly incidentId?: string;
  /** The adapter that failed (`github`, `opa`, `file-store`). */
  readonly adapter?: string;
  /** What it was doing (`createPullRequest`, `ingest`). */
  readonly operation?: string;
  /** The URL called, credentials redacted. */
  readonly url?: string;
  /** The HTTP status received. */
  readonly status?: number;
  /** Whether trying again may succeed. */
  readonly retryable?: boolean;
}

/**
 * Base of every error selfheal throws. Carries context, redacts credentials from its message,
 * and is recognised with `SelfHealError.isInstance`, which also works across duplicate copies
 * of the package (where `instanceof` does not).
 */
export class SelfHealError extends Error {
  readonly [marker] = true;
  readonly incidentId: string | undefined;
  readonly adapter: string | undefined;
  readonly operation: string | undefined;
  readonly url: string | undefined;
  readonly status: number | undefined;
  readonly retryable: boolean;

  constructor(message: string, options: ErrorContext & { readonly cause?: unknown } = {}) {
    super(redact(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SelfHealError";
    this.incidentId = options.incidentId;
    this.adapter = options.adapter;
    this.operation = options.operation;
    this.url = options.url === undefined ? undefined : redact(options.url);
    this.status = options.status;
    this.retryable = options.retryable ?? false;
  }

  static isInstance(error: unknown): error is SelfHealError {
    return typeof error === "object" && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }

  /** A plain object for logs and the audit trail. */
  toJSON(): Record<string, string | number | boolean> {
    const out: Record<string, string | number | boolean> = { name: this.name, message: this.message };
    for (const key of ["incidentId", "adapter", "operation", "url", "status"] as const) {
      const value = this[key];
      if (value !== undefined) out[key] = value;
    }
    out.retryable = this.retryable;
    if (this.cause !== undefined) out.cause = redact(describeError(this.cause));
    return out;
  }
}

/**
 * Input that will never be accepted: a malformed body, a config file with an unknown key.
 * `path` says where (a JSON path such as `alerts[0].startsAt`, or `file:line key.path`).
 */
export class BadInputError extends SelfHealError {
  readonly path: string | undefined;
  constructor(
    message: string,
    options: ErrorContext & { readonly path?: string; readonly cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = "BadInputError";
    this.path = options.path;
  }
}

/** A store could not do what was asked (disk full, database gone). Usually retryable. */
export class StoreError extends SelfHealError {
  constructor(message: string, options: ErrorContext & { readonly cause?: unknown } = {}) {
    super(message, { retryable: true, ...options });
    this.name = "StoreError";
  }
}

/** The incident changed since it was read: re-read and decide again. */
export class StoreConflictError extends StoreError {
  constructor(message: string, options: ErrorContext = {}) {
    super(message, { ...options, retryable: true });
    this.name = "StoreConflictError";
  }
}

/**
 * A write fenced by a claim that is no longer current: another controller took the resource
 * over. Stop working on it; do not retry.
 */
export class StoreFencedError extends StoreError {
  constructor(message: string, options: ErrorContext = {}) {
    super(message, { ...options, retryable: false });
    this.name = "StoreFencedError";
  }
}

/**
 * A remediation could not be carried out. With `escalate`, it must not be tried again
 * automatically (the workload was found twice, there is no previous version).
 */
export class RemediationError extends SelfHealError {
  readonly escalate: boolean;
  constructor(
    message: string,
    options: ErrorContext & { readonly escalate?: boolean; readonly cause?: unknown } = {},
  ) {
    super(message, options);
    this.name = "RemediationError";
    this.escalate = options.escalate ?? false;
  }
}

/** An operation ran past its time limit. */
export class TimeoutError extends SelfHealError {
  constructor(message: string, options: ErrorContext = {}) {
    super(message, { retryable: true, ...options });
    this.name = "TimeoutError";
  }
}

/** A message for any thrown value, without its stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code)
      ? `${error.message} (${code})`
      : error.message;
  }
  return String(error);
}

/** {@link describeError} of the error and of its direct cause (`fetch failed: connect ECONNREFUSED`). */
export function describeChain(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause === undefined ? describeError(error) : `${describeError(error)}: ${describeError(cause)}`;
}

/**
 * What went wrong with a call to another system, in the words every adapter uses (`ForgeError`,
 * `ArgocdError`, and errors of your own adapters): the same kind means the same thing and asks
 * for the same response wherever it comes from.
 */
export type ErrorKind =
  /** 401: the credentials are missing, expired or wrong. Fix the token; trying again will not help. */
  | "unauthorized"
  /** 403: the credentials are fine but not allowed to do this (or, for Argo CD without a project, the application does not exist). */
  | "forbidden"
  /** The thing asked for does not exist (404). */
  | "not_found"
  /** The state moved under us (the branch moved, the change request was merged meanwhile, "already exists"): re-read, then decide again. */
  | "conflict"
  /** The other side is busy with something else right now (Argo CD: another operation in progress): wait, then try again. */
  | "busy"
  /** Rate limited; `retryAfterMs` says when to try again where known. */
  | "rate_limited"
  /** The request was refused as invalid (400, 422, any other 4xx): trying again will not help. */
  | "invalid"
  /** Could not be reached or failed on its side (5xx, 429 without a rate limit, connection refused or reset): trying again may help. */
  | "unavailable"
  /** No answer within the time limit: trying again may help. */
  | "timeout"
  /** The server's certificate was not trusted: a setting to fix (a CA), never retried. */
  | "tls"
  /** An answer that is not what the contract describes: a bug or a version mismatch on one side. */
  | "bad_response";

/** What went wrong with a forge request (GitHub, GitLab, git over HTTP): a part of {@link ErrorKind}. */
export type ForgeErrorKind = Extract<
  ErrorKind,
  "conflict" | "not_found" | "unauthorized" | "forbidden" | "rate_limited" | "invalid" | "unavailable"
>;

/** A GitHub, GitLab or git request failed. */
export class ForgeError extends SelfHealError {
  readonly kind: ForgeErrorKind;
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    options: ErrorContext & {
      readonly kind: ForgeErrorKind;
      readonly retryAfterMs?: number;
      readonly cause?: unknown;
    },
  ) {
    super(message, {
      retryable: options.kind === "unavailable" || options.kind === "rate_limited",
      ...options,
    });
    this.name = "ForgeError";
    this.kind = options.kind;
    this.retryAfterMs = options.retryAfterMs;
  }
}
