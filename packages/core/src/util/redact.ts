/**
 * Credentials we know the shape of. Each is replaced by `[REDACTED]`, keeping a prefix that
 * says what kind of secret it was (so a log still tells a GitHub token from a Slack URL).
 */
const patterns: readonly (readonly [pattern: RegExp, replacement: string, screen: string])[] = [
  // GitHub tokens: classic, OAuth, app installation, user-to-server, refresh, fine-grained.
  [/\b(gh[pousr]_)[A-Za-z0-9]{16,}\b/g, "$1[REDACTED]", "gh[pousr]_"],
  [/\b(github_pat_)[A-Za-z0-9_]{20,}\b/g, "$1[REDACTED]", "github_pat_"],
  // GitLab personal/project/group access tokens and other glxxx- tokens.
  [/\b(gl(?:pat|dt|rt|ptt|cbt|oas|soat|ft|imt|agent)-)[A-Za-z0-9_-]{16,}/g, "$1[REDACTED]", "gl[a-z]{1,5}-"],
  // Slack tokens and incoming webhook paths.
  [/\b(xox[abposr]-)[A-Za-z0-9-]{8,}/g, "$1[REDACTED]", "xox[abposr]-"],
  [
    /(hooks\.slack\.com\/(?:services|workflows|triggers)\/)[A-Za-z0-9/_-]+/g,
    "$1[REDACTED]",
    "hooks\\.slack\\.com",
  ],
  // Authorization header values.
  [/\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/gi, "$1 [REDACTED]", "bearer|basic|token"],
  // Credentials in URLs: scheme://user:password@host
  [/([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, "$1[REDACTED]@", "@"],
  // Private keys (GitHub App keys in PEM).
  [
    /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
    "[REDACTED PRIVATE KEY]",
    "PRIVATE KEY",
  ],
];

/** Keys whose values are secrets whatever they look like. */
const secretKey =
  /^(authorization|password|passwd|secret|token|access_token|private_?key|api_?key|client_secret|cookie)$/i;

/**
 * Cheap screen, built from each pattern's screen: a string none of them matches cannot hold a
 * credential the patterns know, so most log lines skip the replacements.
 */
const maybeSecret = new RegExp(patterns.map(([, , screen]) => screen).join("|"), "i");

/** Replace every credential found in a string. */
export function redact(text: string): string {
  if (!maybeSecret.test(text)) return text;
  let out = text;
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement);
  return out;
}

/**
 * A deep copy of a JSON-like value with credentials redacted: in every string, and the whole
 * value of keys named like secrets (`token`, `password`, `authorization`, ...).
 */
export function redactDeep<T>(value: T): T {
  return redactValue(value, 0) as T;
}

function redactValue(value: unknown, depth: number): unknown {
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
}
