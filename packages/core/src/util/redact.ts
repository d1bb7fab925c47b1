import { createHmac } from "node:crypto";
import { secretShapes } from "./secret-shapes.js";

/** What a redactor hides: the known credential shapes, and the configured secrets. */
export interface RedactorSettings {
  /**
   * Secret values to hide wherever they appear, whatever they look like (forge tokens, webhook
   * passwords, notifier URLs, database passwords...). Values shorter than
   * {@link minSecretLength} characters are not looked for as text: they would hide ordinary
   * words. Their URL-encoded form is hidden too.
   */
  readonly secrets?: readonly string[];
}

/** Shortest configured secret looked for as literal text. */
export const minSecretLength = 8;

/** Hides credentials in text and JSON-like values. One per controller: it holds that controller's secrets. */
export interface Redactor {
  /** `text` with every configured secret and known credential shape replaced by a `[REDACTED]` marker. */
  redact(text: string): string;
  /**
   * A deep copy of a JSON-like value with credentials redacted: in every string, and the whole
   * value of keys named like secrets (`token`, `password`, `authorization`, ...). Errors become
   * `{ name, message }` (or their `toJSON()`).
   */
  redactDeep<T>(value: T): T;
  /**
   * An identity (dedup key, fingerprint, incident key) fit to store: itself when it holds no
   * credential; else its redacted text followed by `#` and a keyed hash of the whole of it, so
   * two identities that differ only in a secret stay two, and the same one always gives the
   * same result (across restarts and replicas with the same secrets).
   */
  identity(text: string): string;
}

/** Keys whose values are secrets whatever they look like. */
const secretKey =
  /^(authorization|password|passwd|secret|token|access_token|private_?key|api_?key|client_secret|cookie)$/i;

/**
 * A redactor for the known credential shapes plus `settings.secrets`. Holds no shared state: two
 * controllers in one process each build their own.
 */
export function createRedactor(settings: RedactorSettings = {}): Redactor {
  const secrets = literalSecrets(settings.secrets ?? []);
  // Keyed by the secrets themselves: a weak secret inside an identity cannot be guessed from its
  // hash by someone who does not already hold the configuration.
  const identityKey = ["selfheal-identity", ...secrets].join("\0");

  const redact = (text: string): string => {
    let out = text;
    for (const secret of secrets) if (out.includes(secret)) out = out.replaceAll(secret, "[REDACTED]");
    // Cheap screen first: most strings (label values, log messages) hold none of the markers.
    if (!secretShapes.screen.test(out)) return out;
    for (const { pattern, replacement } of secretShapes.patterns) {
      out =
        typeof replacement === "string"
          ? out.replace(pattern, replacement)
          : out.replace(pattern, replacement);
    }
    return out;
  };

  const redactValue = (value: unknown, depth: number): unknown => {
    if (typeof value === "string") return redact(value);
    if (value === null || typeof value !== "object" || depth > 32) return value;
    if (value instanceof Error) {
      const toJSON = (value as { toJSON?: () => unknown }).toJSON;
      const plain =
        typeof toJSON === "function" ? toJSON.call(value) : { name: value.name, message: value.message };
      return redactValue(plain, depth + 1);
    }
    if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] =
        secretKey.test(key) && typeof item === "string" && item !== ""
          ? "[REDACTED]"
          : redactValue(item, depth + 1);
    }
    return out;
  };

  return {
    redact,
    redactDeep: <T>(value: T): T => redactValue(value, 0) as T,
    identity(text) {
      const clean = redact(text);
      if (clean === text) return text;
      return `${clean}#${createHmac("sha256", identityKey).update(text).digest("hex").slice(0, 32)}`;
    },
  };
}

/** Configured secrets worth looking for, with their URL-encoded forms, longest first. */
function literalSecrets(values: readonly string[]): string[] {
  const out = new Set<string>();
  for (const value of values) {
    if (typeof value !== "string" || value.length < minSecretLength) continue;
    out.add(value);
    const encoded = encodeURIComponent(value);
    if (encoded !== value) out.add(encoded);
  }
  // Longest first: a secret that contains another is hidden whole, not around the shorter one.
  return [...out].sort((a, b) => b.length - a.length);
}

/** The redactor of the known credential shapes only (no configured secrets). */
const shapesOnly = createRedactor();

/**
 * Replace every credential of a known shape found in a string. Knows no configured secret: a
 * controller redacts with its own {@link Redactor} (`createRedactor({ secrets })`).
 */
export function redact(text: string): string {
  return shapesOnly.redact(text);
}

/**
 * A deep copy of a JSON-like value with credentials of known shapes redacted: in every string,
 * and the whole value of keys named like secrets (`token`, `password`, `authorization`, ...).
 */
export function redactDeep<T>(value: T): T {
  return shapesOnly.redactDeep(value);
}
