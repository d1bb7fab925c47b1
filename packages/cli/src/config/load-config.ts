import { readFile } from "node:fs/promises";
import {
  type Document,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from "yaml";
import type { z } from "zod";
import { ConfigError, type ConfigProblem } from "./config-error.js";
import { SelfhealConfig } from "./selfheal-config.js";
import { substituteEnv } from "./substitute-env.js";

/** Options of {@link loadConfig} and {@link parseConfig}. */
export interface LoadConfigOptions {
  /**
   * Variables `${VAR}` is replaced from.
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Top-level sections the command does not use (`audit` reads only `store`): a `${VAR}` there
   * that is not set is no problem. Such a section is checked like any other, except that when it
   * holds an unset variable it is left out of the result (the command does not read it).
   * @default [] (every section is used)
   */
  readonly unusedSections?: readonly string[];
}

/**
 * Read, substitute `${VAR}`s in, and validate a `selfheal.yaml`. Rejects with a `ConfigError`
 * listing every problem as `file:line:col key.path: message`.
 */
export async function loadConfig(file: string, options: LoadConfigOptions = {}): Promise<SelfhealConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const reason = error instanceof Error && "code" in error ? String(error.code) : String(error);
    throw new ConfigError(file, [{ file, line: 1, column: 1, path: "", message: `cannot read: ${reason}` }], {
      cause: error,
    });
  }
  return parseConfig(text, file, options);
}

/** {@link loadConfig} on text already read; `file` names it in errors. */
export function parseConfig(text: string, file: string, options: LoadConfigOptions = {}): SelfhealConfig {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number, path: string, message: string): ConfigProblem => {
    const position = lines.linePos(offset);
    return { file, line: position.line, column: position.col, path, message };
  };
  if (document.errors.length > 0) {
    // Past the first few, syntax errors are echoes of the first.
    const syntax = document.errors.slice(0, 3).map((error) => {
      const problem = at(error.pos[0], "", error.message.split("\n")[0] ?? error.message);
      const line = text.split("\n")[problem.line - 1] ?? "";
      return /[{[][^"']*\$\{/.test(line)
        ? { ...problem, message: `${problem.message} (inside { } or [ ], quote a variable: "\${VAR}")` }
        : problem;
    });
    throw new ConfigError(file, syntax);
  }
  // Every problem at once: a variable that is not set is reported with the others, and the
  // schema's complaints about its still-unsubstituted value are left out (they would be echoes).
  const missing = substituteEnv(document, options.env ?? process.env);
  const unused = new Set(options.unusedSections ?? []);
  const missingProblems = missing
    .filter((entry) => !unused.has(String(entry.path[0])))
    .map((entry) =>
      at(entry.offset, keyPathText(entry.path), `environment variable ${entry.name} is not set`),
    );
  const missingPaths = new Set(missing.map((entry) => keyPathText(entry.path)));
  const data: unknown = document.toJS() ?? {};
  const parsed = SelfhealConfig.safeParse(data);
  if (parsed.success && missingProblems.length === 0) return parsed.data;
  if (!parsed.success && missingProblems.length === 0 && missing.length > 0) {
    // Only unset variables of unused sections: leave those sections out (their defaults stand
    // in; `policy`, which has none, becomes the built-in one) so the command can go on.
    const skipped = new Set(missing.map((entry) => String(entry.path[0])));
    const trimmed: Record<string, unknown> = { ...(data as Record<string, unknown>) };
    for (const section of skipped) delete trimmed[section];
    if (skipped.has("policy")) trimmed.policy = { builtin: {} };
    const again = SelfhealConfig.safeParse(trimmed);
    if (again.success) return again.data;
  }
  const schemaProblems = parsed.success
    ? []
    : flattenIssues(parsed.error.issues)
        .map((issue) => locate(issue, document, data, at))
        .filter((problem) => !missingPaths.has(problem.path));
  const problems = [...missingProblems, ...schemaProblems];
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  throw new ConfigError(file, problems);
}

type Issue = z.core.$ZodIssue;
type At = (offset: number, path: string, message: string) => ConfigProblem;

/**
 * Union failures are reported from the branch that got furthest (the one the author meant).
 * When no branch got past the value's type, the alternatives are listed instead.
 */
function flattenIssues(issues: readonly Issue[]): Issue[] {
  return issues.flatMap((issue): Issue[] => {
    if (issue.code !== "invalid_union" || issue.errors.length === 0) return [issue];
    const mismatch = (inner: Issue) => inner.code === "invalid_type" || inner.code === "invalid_value";
    const depth = (branch: readonly Issue[]) =>
      Math.max(...branch.map((inner) => inner.path.length + (mismatch(inner) ? 0 : 0.5)));
    const best = [...issue.errors].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0] ?? [];
    if (best.every((inner) => inner.path.length === 0 && mismatch(inner))) {
      const alternatives = issue.errors
        .flat()
        .flatMap((inner) =>
          inner.code === "invalid_type"
            ? [inner.expected]
            : inner.code === "invalid_value"
              ? inner.values.map((value) => JSON.stringify(value))
              : [],
        );
      return [{ ...issue, errors: [], message: `expected ${[...new Set(alternatives)].join(" or ")}` }];
    }
    return flattenIssues(best).map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }));
  });
}

function locate(issue: Issue, document: Document, data: unknown, at: At): ConfigProblem {
  const path = issue.path.map((key) => (typeof key === "symbol" ? String(key) : key));
  const dotted = keyPathText(path);
  if (issue.code === "unrecognized_keys") {
    const parent = nodeAt(document, path);
    const key = issue.keys[0] ?? "";
    const keyNode = isMap(parent)
      ? parent.items.find((pair) => isScalar(pair.key) && pair.key.value === key)?.key
      : undefined;
    const where = keyPathText([...path, key]);
    const message = `unknown key${issue.keys.length > 1 ? `s ${issue.keys.map((k) => `"${k}"`).join(", ")}` : ` "${key}"`}`;
    return at(offsetOf(keyNode) ?? offsetOf(parent) ?? 0, where, message);
  }
  const node = nodeAt(document, path);
  const value = valueAt(data, path);
  return at(offsetOf(node) ?? offsetOf(nearestNode(document, path)) ?? 0, dotted, describe(issue, value));
}

/** `guardrails.freezeWindows[0].start` */
function keyPathText(path: readonly (string | number)[]): string {
  return path
    .map((key, index) => (typeof key === "number" ? `[${key}]` : index === 0 ? key : `.${key}`))
    .join("");
}

function describe(issue: Issue, value: unknown): string {
  if (issue.code === "invalid_type") {
    if (value === undefined) return `missing value (expected ${issue.expected})`;
    return `expected ${issue.expected}, got ${kindOf(value)}`;
  }
  if (issue.code === "invalid_value") {
    return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${JSON.stringify(value)}`;
  }
  if (issue.code === "invalid_union") {
    const discriminator = /^Invalid discriminator value\. Expected /;
    // A wrong discriminator (`kind: docker`) is worth echoing; it names a choice, not a secret.
    if (discriminator.test(issue.message) && typeof value === "string") {
      return `${issue.message.replace(discriminator, "expected one of ")}, got ${JSON.stringify(value)}`;
    }
    return `${issue.message}, got ${kindOf(value)}`;
  }
  return issue.message.replace(/^(?:Invalid input|Too small|Too big): /, "");
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return "object";
  // Never the value of a string: it may be a secret put under the wrong key.
  return typeof value === "string" ? "string" : `${typeof value} ${String(value)}`;
}

function nodeAt(document: Document, path: readonly (string | number)[]): Node | undefined {
  const node = path.length === 0 ? document.contents : document.getIn(path, true);
  return isNode(node) ? node : undefined;
}

/** The deepest node on the way to `path` (a missing key is reported at its parent). */
function nearestNode(document: Document, path: readonly (string | number)[]): Node | undefined {
  for (let length = path.length; length >= 0; length--) {
    const prefix = path.slice(0, length);
    const node = nodeAt(document, prefix);
    if (node === undefined) continue;
    if (length === 0 || (!isMap(node) && !isSeq(node))) return node;
    // For a map, point at its key (`repo:`), which is where people look.
    const parent = nodeAt(document, prefix.slice(0, -1));
    const pair = isMap(parent)
      ? parent.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === prefix.at(-1))
      : undefined;
    return isNode(pair?.key) ? pair.key : node;
  }
  return undefined;
}

function offsetOf(node: unknown): number | undefined {
  return isNode(node) ? node.range?.[0] : undefined;
}

function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let current = data;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}
