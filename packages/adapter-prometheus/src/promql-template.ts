import { BadInputError, type Incident } from "@selfheal/core";

/**
 * What a PromQL template may refer to. `{{service}}`, `{{alertname}}` and `{{labels.NAME}}`
 * are values from the incident and may appear only inside a double-quoted string literal,
 * where they are escaped (a label value cannot end the string and add PromQL of its own).
 * `{{NAME|regex}}` also escapes regular-expression characters, for `=~` matchers.
 * `{{window}}` is the configured range (`5m`) and appears outside strings (`[{{window}}]`).
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
}

const placeholderPattern = /\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:\|\s*(regex)\s*)?\}\}/y;
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
        out += source.slice(at, placeholder.start);
        at = placeholder.end;
        if (placeholder.name === "window") {
          out += values.window;
          continue;
        }
        const value = lookup(values, placeholder.name);
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
      const placeholder = { start: index, end: index + match[0].length, name, regex: match[2] === "regex" };
      check(placeholder, quote, where);
      found.push(placeholder);
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
