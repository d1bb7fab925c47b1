import { BadInputError, type Incident } from "@selfheal/core";

/**
 * What a PromQL template may refer to. `{{service}}`, `{{alertname}}` and `{{labels.NAME}}`
 * are values from the incident and may appear only inside a double-quoted string literal,
 * where they are escaped (a label value cannot end the string and add PromQL of its own).
 * `{{NAME|regex}}` also escapes regular-expression characters, for `=~` matchers.
 * `{{window}}` is the configured range (`5m`) and appears outside strings (`[{{window}}]`).
 *
 * An optional label, `{{labels.NAME?}}`, is for matchers that only narrow: it must be the whole
 * value of a label matcher (`namespace="{{labels.namespace?}}"`), and when the alert has no
 * `NAME` label the whole matcher is left out (`{namespace="",container="x"}` would match
 * nothing) instead of the query not being run.
 */
export interface PromqlValues {
  readonly service: string;
  readonly alertname: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly window: string;
}

/** A template checked once, rendered per incident. */
export interface PromqlTemplate {
  /** The template as configured. */
  readonly source: string;
  /** The query for these values, or the name of the first value the incident lacks. */
  render(values: PromqlValues): { readonly query: string } | { readonly missing: string };
}

interface Placeholder {
  readonly start: number;
  readonly end: number;
  readonly name: string;
  readonly regex: boolean;
  /** For an optional label: the span left out (the matcher and one comma) when the label is absent. */
  readonly drop?: { readonly start: number; readonly end: number };
}

const placeholderPattern = /\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)(\?)?\s*(?:\|\s*(regex)\s*)?\}\}/y;
const valueName = /^(service|alertname|labels\.[A-Za-z_][A-Za-z0-9_]*)$/;
const promDuration = /^(\d+(ms|s|m|h|d|w|y))+$/;

/** The values of `incident` a template refers to. */
export function promqlValuesOf(incident: Incident, window: string): PromqlValues {
  return { service: incident.service, alertname: incident.alertname, labels: incident.labels, window };
}

/** Check a Prometheus duration (`5m`, `1h30m`) used as `{{window}}`. */
export function checkPromDuration(value: string, where: string): string {
  if (!promDuration.test(value)) {
    throw new BadInputError(`${where}: "${value}" is not a Prometheus duration (e.g. "5m", "1h30m")`, {
      adapter: "prometheus",
      path: where,
    });
  }
  return value;
}

/**
 * Parse `source` and check where each placeholder stands. Throws a `BadInputError` naming
 * `where` for an unknown placeholder, or an incident value outside a double-quoted string.
 */
export function compilePromql(source: string, where: string): PromqlTemplate {
  const placeholders = scan(source, where);
  return {
    source,
    render(values) {
      let out = "";
      let at = 0;
      for (const placeholder of placeholders) {
        const value = placeholder.name === "window" ? values.window : lookup(values, placeholder.name);
        if (value === undefined && placeholder.drop !== undefined) {
          out += source.slice(at, placeholder.drop.start);
          at = placeholder.drop.end;
          continue;
        }
        out += source.slice(at, placeholder.start);
        at = placeholder.end;
        if (placeholder.name === "window") {
          out += values.window;
          continue;
        }
        if (value === undefined) return { missing: placeholder.name };
        out += escapePromqlString(placeholder.regex ? escapeRegex(value) : value);
      }
      return { query: out + source.slice(at) };
    },
  };
}

/**
 * Escape a value for the inside of a double-quoted PromQL string: backslash, the quote and
 * control characters. PromQL accepts only the opening quote as an escaped quote, so a value must
 * never be put in single quotes or backticks.
 */
export function escapePromqlString(value: string): string {
  let out = "";
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (char === "\\") out += "\\\\";
    else if (char === '"') out += '\\"';
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += char;
  }
  return out;
}

/** Escape RE2 metacharacters, so a value matches itself in an `=~` matcher. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

function lookup(values: PromqlValues, name: string): string | undefined {
  if (name === "service") return values.service;
  if (name === "alertname") return values.alertname;
  return values.labels[name.slice("labels.".length)];
}

/** Find the placeholders, tracking string literals and comments to know where each stands. */
function scan(source: string, where: string): Placeholder[] {
  const found: Placeholder[] = [];
  let quote: string | undefined;
  let index = 0;
  while (index < source.length) {
    const char = source[index];
    if (char === "{" && source[index + 1] === "{") {
      placeholderPattern.lastIndex = index;
      const match = placeholderPattern.exec(source);
      const name = match?.[1];
      if (match === null || name === undefined) {
        throw bad(where, `unterminated or malformed placeholder at ${index}`);
      }
      const placeholder = { start: index, end: index + match[0].length, name, regex: match[3] === "regex" };
      check(placeholder, quote, where);
      found.push(
        match[2] === "?" ? { ...placeholder, drop: matcherSpan(source, placeholder, where) } : placeholder,
      );
      index = placeholder.end;
      continue;
    }
    if (quote !== undefined) {
      if (char === "\\" && quote !== "`") index += 1;
      else if (char === quote) quote = undefined;
    } else if (char === '"' || char === "'" || char === "`") {
      quote = char;
    } else if (char === "#") {
      const newline = source.indexOf("\n", index);
      index = newline === -1 ? source.length : newline;
      continue;
    }
    index += 1;
  }
  if (quote !== undefined) throw bad(where, `unterminated string literal (${quote})`);
  return found;
}

const matcherBefore = /,?\s*[A-Za-z_][A-Za-z0-9_]*\s*(=~|!~|!=|=)\s*"$/;

/**
 * The span of the label matcher an optional placeholder is the whole value of, with the comma
 * that separates it from its neighbour, so that leaving it out keeps the selector well formed.
 */
function matcherSpan(
  source: string,
  placeholder: Placeholder,
  where: string,
): { start: number; end: number } {
  const usage = `{{${placeholder.name}?}} must be the whole value of a label matcher, e.g. namespace="{{labels.namespace?}}"`;
  if (!placeholder.name.startsWith("labels.")) throw bad(where, `only labels may be optional: ${usage}`);
  const before = matcherBefore.exec(source.slice(0, placeholder.start));
  if (before === null || source[placeholder.end] !== '"') throw bad(where, usage);
  const afterQuote = placeholder.end + 1;
  const rest = /^\s*(,|\})/.exec(source.slice(afterQuote));
  if (rest === null) throw bad(where, usage);
  const leadingComma = before[0].startsWith(",");
  const start = placeholder.start - before[0].length;
  if (rest[1] === ",") {
    // `{a="{{labels.a?}}", b="x"}`: drop the matcher and the comma after it (keep a comma before).
    const end = afterQuote + rest[0].length;
    return { start: leadingComma ? start + 1 : start, end };
  }
  // Last matcher: drop the comma before it, if any, and keep the closing brace.
  return { start, end: afterQuote };
}

function check(placeholder: Placeholder, quote: string | undefined, where: string): void {
  if (placeholder.name === "window") {
    if (quote !== undefined || placeholder.regex) throw bad(where, "{{window}} must stand outside strings");
    return;
  }
  if (!valueName.test(placeholder.name)) {
    throw bad(
      where,
      `unknown placeholder {{${placeholder.name}}} (use service, alertname, labels.NAME or window)`,
    );
  }
  if (quote !== '"') {
    throw bad(
      where,
      `{{${placeholder.name}}} must stand inside a double-quoted string, e.g. service="{{${placeholder.name}}}"`,
    );
  }
}

function bad(where: string, message: string): BadInputError {
  return new BadInputError(`${where}: ${message}`, { adapter: "prometheus", path: where });
}
