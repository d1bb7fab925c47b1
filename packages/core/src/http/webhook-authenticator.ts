import { hash, timingSafeEqual } from "node:crypto";
import { BadInputError } from "../errors/selfheal-error.js";
import type { WebhookAuth } from "../spec/signal-source.js";

/** Why a request was refused: what to tell the caller, never the credential it sent. */
export interface AuthFailure {
  readonly message: string;
  /** Value of the `WWW-Authenticate` header of the 401. */
  readonly challenge: string;
}

/** Checks the `Authorization` header of a request against a route's configured credentials. */
export interface WebhookAuthenticator {
  /** `undefined` when the header carries the expected credentials. */
  check(authorization: string | undefined): AuthFailure | undefined;
}

const realm = 'realm="selfheal"';

/**
 * Prepare the check of one route's credentials. The expected secret is hashed once here; each
 * request hashes what it presents, so `timingSafeEqual` always compares two 32-byte digests and
 * neither the secret's length nor its content leaks through timing.
 * @param where where the settings came from, for the error on an empty credential
 */
export function createWebhookAuthenticator(auth: WebhookAuth, where: string): WebhookAuthenticator {
  if ("bearer" in auth) {
    if (typeof auth.bearer !== "string" || auth.bearer.trim() === "") {
      throw new BadInputError(`${where}.bearer must be a non-empty token`, { path: `${where}.bearer` });
    }
    const expected = sha256(auth.bearer);
    const requirement = 'this endpoint requires Bearer authentication ("Authorization: Bearer <token>")';
    const missing: AuthFailure = {
      message: `missing Authorization header: ${requirement}`,
      challenge: `Bearer ${realm}`,
    };
    const wrongScheme: AuthFailure = {
      message: `unsupported Authorization scheme: ${requirement}`,
      challenge: `Bearer ${realm}`,
    };
    const invalid: AuthFailure = {
      message: "invalid Bearer token",
      challenge: `Bearer ${realm}, error="invalid_token"`,
    };
    return {
      check(authorization) {
        if (authorization === undefined || authorization === "") return missing;
        const credential = credentialOf(authorization, "bearer");
        if (credential === undefined) return wrongScheme;
        return timingSafeEqual(sha256(credential), expected) ? undefined : invalid;
      },
    };
  }

  const { username, password } = auth.basic;
  if (typeof username !== "string" || username === "" || username.includes(":")) {
    throw new BadInputError(`${where}.basic.username must be non-empty and contain no ':'`, {
      path: `${where}.basic.username`,
    });
  }
  if (typeof password !== "string" || password === "") {
    throw new BadInputError(`${where}.basic.password must be non-empty`, { path: `${where}.basic.password` });
  }
  const expected = sha256(Buffer.from(`${username}:${password}`, "utf8"));
  const challenge = `Basic ${realm}, charset="UTF-8"`;
  const requirement =
    'this endpoint requires Basic authentication ("Authorization: Basic <base64 of username:password>")';
  const missing: AuthFailure = { message: `missing Authorization header: ${requirement}`, challenge };
  const wrongScheme: AuthFailure = { message: `unsupported Authorization scheme: ${requirement}`, challenge };
  const invalid: AuthFailure = { message: "invalid Basic credentials (username or password)", challenge };
  return {
    check(authorization) {
      if (authorization === undefined || authorization === "") return missing;
      const credential = credentialOf(authorization, "basic");
      if (credential === undefined) return wrongScheme;
      // Compare the decoded bytes, so padding or line-wrapping differences in the base64 do not matter.
      return timingSafeEqual(sha256(Buffer.from(credential, "base64")), expected) ? undefined : invalid;
    },
  };
}

/** The credential after `<scheme> ` (scheme compared case-insensitively), or `undefined`. */
function credentialOf(authorization: string, scheme: "bearer" | "basic"): string | undefined {
  const space = authorization.indexOf(" ");
  if (space !== scheme.length || authorization.slice(0, space).toLowerCase() !== scheme) return undefined;
  return authorization.slice(space + 1).trim();
}

function sha256(value: string | Buffer): Buffer {
  return hash("sha256", value, "buffer");
}
