/** One credential shape: what it looks like, what replaces it, and a cheap marker it always holds. */
interface SecretShape {
  readonly pattern: RegExp;
  readonly replacement: string | ((match: string, ...groups: string[]) => string);
  /** A regex fragment found (case-insensitively) in every match: the screen. */
  readonly screen: string;
}

/**
 * Where a token may start: a word boundary, or right after a JSON/escaped `\n`, `\r` or `\t`
 * (text that holds JSON holds them literally, and `\nghp_...` has no word boundary before `ghp_`).
 */
const start = String.raw`(?:\b|(?<=\\[nrt]))`;

/** Keys whose value is a secret in `key=value` / `key: value` free text (`db_password=...`). */
const secretKeyWords =
  "password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|credentials?";

/**
 * Credentials we know the shape of. Each is replaced by a `[REDACTED]` marker, keeping a prefix
 * that says what kind of secret it was (a log still tells a GitHub token from a Slack URL). Order
 * matters: whole blocks (keys, JWTs, URL credentials) go before the shorter shapes inside them.
 * Every replacement is stable: redacting redacted text changes nothing.
 */
const patterns: readonly SecretShape[] = [
  // Private keys in PEM (GitHub App keys); one cut short (no END line) is hidden to the end.
  {
    pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g,
    replacement: "[REDACTED PRIVATE KEY]",
    screen: "PRIVATE KEY",
  },
  {
    pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*/g,
    replacement: "[REDACTED PRIVATE KEY]",
    screen: "",
  },
  // JSON Web Tokens: base64url of `{"` starts both the header and the payload.
  {
    pattern: new RegExp(`${start}eyJ[A-Za-z0-9_-]{5,}\\.eyJ[A-Za-z0-9_-]{5,}\\.[A-Za-z0-9_-]*`, "g"),
    replacement: "[REDACTED JWT]",
    screen: "eyJ",
  },
  // Credentials in URLs: scheme://user:password@host
  { pattern: /([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, replacement: "$1[REDACTED]@", screen: "@" },
  // GitHub tokens: classic, OAuth, app installation, user-to-server, refresh, fine-grained.
  {
    pattern: new RegExp(`${start}(gh[pousr]_)[A-Za-z0-9]{16,}\\b`, "g"),
    replacement: "$1[REDACTED]",
    screen: "gh[pousr]_",
  },
  {
    pattern: new RegExp(`${start}(github_pat_)[A-Za-z0-9_]{20,}\\b`, "g"),
    replacement: "$1[REDACTED]",
    screen: "github_pat_",
  },
  // GitLab personal/project/group access tokens and other glxxx- tokens.
  {
    pattern: new RegExp(`${start}(gl(?:pat|dt|rt|ptt|cbt|oas|soat|ft|imt|agent)-)[A-Za-z0-9_-]{16,}`, "g"),
    replacement: "$1[REDACTED]",
    screen: "gl[a-z]{1,5}-",
  },
  // Slack tokens and incoming webhook paths.
  {
    pattern: new RegExp(`${start}(xox[abposr]-)[A-Za-z0-9-]{8,}`, "g"),
    replacement: "$1[REDACTED]",
    screen: "xox[abposr]-",
  },
  {
    pattern: /(hooks\.slack\.com\/(?:services|workflows|triggers)\/)[A-Za-z0-9/_-]+/g,
    replacement: "$1[REDACTED]",
    screen: "hooks\\.slack\\.com",
  },
  // AWS access key ids (long-term AKIA, temporary ASIA).
  {
    pattern: new RegExp(`${start}(AKIA|ASIA)[A-Z0-9]{16}\\b`, "g"),
    replacement: "$1[REDACTED]",
    screen: "AKIA|ASIA",
  },
  // Authorization header values.
  {
    pattern: new RegExp(`${start}(Bearer|Basic|token)\\s+[A-Za-z0-9._~+/=-]{8,}`, "gi"),
    replacement: "$1 [REDACTED]",
    screen: "bearer|basic|token",
  },
  // `password=...`, `token: ...`, `"api_key":"..."`, `aws_secret_access_key = ...`, `?access_token=...`:
  // the value, quoted or up to a space or separator, whatever it looks like.
  {
    pattern: new RegExp(
      `(\\b[A-Za-z0-9_.-]*(?:${secretKeyWords})["']?\\s*[=:]\\s*)("[^"\\n]*"|'[^'\\n]*'|(?:[^\\s"'&,;\\[\\]{}()<>\\\\]|\\\\(?![nrt])|\\[REDACTED\\])+)`,
      "gi",
    ),
    replacement: (_match: string, key: string, value: string) => {
      const quote = value.startsWith('"') || value.startsWith("'") ? value.charAt(0) : "";
      return `${key}${quote}[REDACTED]${quote}`;
    },
    screen: secretKeyWords,
  },
];

/**
 * The known credential shapes, and their screen: a string the screen does not match cannot hold
 * any of them, so most strings (label values, log lines) skip every replacement.
 */
export const secretShapes = {
  patterns,
  screen: new RegExp(
    patterns
      .map((shape) => shape.screen)
      .filter((screen) => screen !== "")
      .join("|"),
    "i",
  ),
} as const;
