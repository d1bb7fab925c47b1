import { type ErrorContext, type ErrorKind, SelfHealError } from "@selfheal/core";

/**
 * What went wrong with an Argo CD call: a part of core's {@link ErrorKind}, the words every adapter
 * uses. For Argo CD: `busy` is 400 FailedPrecondition "another operation is already in progress";
 * `forbidden` is a 403, which without a project also means the application does not exist;
 * `invalid` any other 4xx; `unavailable` a 5xx, a 429, a refused or reset connection; `bad_response`
 * a 200 whose body is not the Application the contract describes.
 */
export type ArgocdErrorKind = Extract<
  ErrorKind,
  | "busy"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "invalid"
  | "tls"
  | "unavailable"
  | "timeout"
  | "bad_response"
>;

const retryableKinds: ReadonlySet<ArgocdErrorKind> = new Set(["busy", "unavailable", "timeout"]);

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
