import { type ErrorContext, SelfHealError } from "@selfheal/core";

/** What went wrong with an Argo CD call, in terms a caller can act on. */
export type ArgocdErrorKind =
  /** 400 FailedPrecondition "another operation is already in progress": wait and try again. */
  | "operation_in_progress"
  /** 401: the token is missing, expired or wrong. */
  | "unauthenticated"
  /** 403: not allowed, or (without a project) the application does not exist. */
  | "forbidden"
  /** 404: the application does not exist. */
  | "not_found"
  /** Any other 4xx: the request was refused; trying again will not help. */
  | "rejected"
  /** The server's certificate was not trusted (set `ca`, or `insecure` for tests). */
  | "tls"
  /** 5xx, 429, connection refused or reset: trying again may help. */
  | "unavailable"
  /** No answer within the per-request time limit. */
  | "timeout"
  /** A 200 whose body is not the Application the contract describes. */
  | "bad_response";

const retryableKinds: ReadonlySet<ArgocdErrorKind> = new Set([
  "operation_in_progress",
  "unavailable",
  "timeout",
]);

/** An Argo CD API call failed. `adapter` is always `argocd`; the token never appears in it. */
export class ArgocdError extends SelfHealError {
  /** What went wrong; `retryable` follows from it. */
  readonly kind: ArgocdErrorKind;
  /** The gRPC code of Argo CD's `runtimeError` body (9 = FailedPrecondition), when it sent one. */
  readonly grpcCode: number | undefined;
  constructor(
    message: string,
    options: ErrorContext & {
      readonly kind: ArgocdErrorKind;
      readonly grpcCode?: number;
      readonly cause?: unknown;
    },
  ) {
    super(message, { retryable: retryableKinds.has(options.kind), ...options, adapter: "argocd" });
    this.name = "ArgocdError";
    this.kind = options.kind;
    this.grpcCode = options.grpcCode;
  }
}
