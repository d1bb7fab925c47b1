import { BadInputError, SelfHealError } from "../errors/selfheal-error.js";
import type { HttpErrorAnswer } from "./http-response.js";

/**
 * Map a failure of `parse` or `accept` to the answer that makes the sender do the right thing:
 * 503 for what a retry may fix, 400 for input that will never be accepted, 500 for the rest.
 */
export function failureAnswer(
  error: unknown,
  stage: "parse" | "accept",
  unavailableHeaders: Readonly<Record<string, string>>,
): HttpErrorAnswer {
  if (SelfHealError.isInstance(error)) {
    if (error.retryable) {
      return {
        status: 503,
        code: "unavailable",
        message: `signals not recorded, retry later: ${error.message}`,
        headers: unavailableHeaders,
      };
    }
    if (isBadInput(error)) {
      return { status: 400, code: "bad_request", message: error.message, path: error.path };
    }
  }
  // A bug or an unexpected failure: 500 is retried by Alertmanager, which is what we want once fixed.
  return {
    status: 500,
    code: "internal",
    message: `internal error while ${stage === "parse" ? "parsing the payload" : "recording the signals"}: see the controller log`,
  };
}

/** `BadInputError`, also from a duplicate copy of this package (where `instanceof` fails). */
function isBadInput(error: SelfHealError): error is BadInputError {
  return error instanceof BadInputError || error.name === "BadInputError";
}

/** 503 while shutting down or overloaded. Never 429: Alertmanager does not retry a 429. */
export function notAccepting(unavailableHeaders: Readonly<Record<string, string>>): HttpErrorAnswer {
  return {
    status: 503,
    code: "unavailable",
    message: "not accepting signals right now (shutting down or overloaded): retry later",
    headers: unavailableHeaders,
  };
}

export function tooLarge(limit: number, what: string): HttpErrorAnswer {
  return {
    status: 413,
    code: "payload_too_large",
    message: `body too large: ${what}, the limit of this route is ${limit} bytes`,
  };
}
