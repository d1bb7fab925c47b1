import { isDeepStrictEqual } from "node:util";
import { type Document, isScalar, parseAllDocuments, Scalar, visit } from "yaml";
import type { ManifestEdit } from "./manifest-edit.js";
import { ManifestError } from "./manifest-error.js";
import { formatPath, lookup, type ParsedManifest, type PathSegment } from "./parse-manifest.js";

/**
 * Replaces the scalar at `path` of one document by splicing new source text into the
 * original, so that every other byte (comments, quoting, CRLF, anchors) is kept. The result
 * is parsed again and must differ from the input only at `path`; anything else is an error.
 */
export function replaceScalar(
  manifest: ParsedManifest,
  documentIndex: number,
  path: readonly PathSegment[],
  value: string | number,
  operation: string,
): ManifestEdit {
  const jsonPath = formatPath(path);
  const fail = (message: string, cause?: unknown): ManifestError =>
    new ManifestError(message, {
      path: jsonPath,
      documentIndex,
      operation,
      ...(cause === undefined ? {} : { cause }),
    });
  const document = manifest.documents[documentIndex];
  if (document === undefined) throw fail("no such document");
  const found = lookup(document.contents, path);
  if (!found.found) throw fail(found.reason);
  const node = found.node;
  if (!isScalar(node)) throw fail("is not a scalar");
  if (typeof value === "number" && !Number.isFinite(value)) throw fail(`${value} is not a finite number`);
  const before = describeValue(node.value);
  if (node.value === value) {
    return { text: manifest.text, changed: false, before, after: value, path: jsonPath, documentIndex };
  }
  if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
    throw fail("is a block scalar; only single-line scalars are edited");
  }
  const [start, end] = node.range ?? [];
  if (start === undefined || end === undefined || start === end) throw fail("has no source text to replace");
  if (node.anchor !== undefined && hasAlias(document, node.anchor)) {
    throw fail(`is anchored as &${node.anchor} and aliased elsewhere; editing it would change those too`);
  }

  const expected = manifest.documents.map((each) => each.toJS() as unknown);
  expected[documentIndex] = withValue(expected[documentIndex], path, value);
  let lastProblem = "";
  for (const source of candidateSources(node.type, value)) {
    const text = manifest.text.slice(0, start) + source + manifest.text.slice(end);
    const problem = verify(text, expected);
    if (problem === undefined) {
      return { text, changed: true, before, after: value, path: jsonPath, documentIndex };
    }
    lastProblem = problem;
  }
  throw fail(`cannot write ${JSON.stringify(value)} without changing anything else: ${lastProblem}`);
}

/** Source texts to try, best first: the old quoting style, then plain, then double quotes. */
function candidateSources(type: Scalar.Type | undefined, value: string | number): string[] {
  if (typeof value === "number") return [String(value)];
  const doubleQuoted = JSON.stringify(value);
  if (type === Scalar.QUOTE_DOUBLE) return [doubleQuoted];
  if (type === Scalar.QUOTE_SINGLE) {
    // A single-quoted scalar cannot hold a line break without folding; fall back to double.
    return /[\n\r]/.test(value) ? [doubleQuoted] : [`'${value.replaceAll("'", "''")}'`];
  }
  // Plain stays plain when it reads back as the same string; the re-parse decides (`1.2`,
  // `true`, `a: b` or `x, y` in a flow collection do not), then double quotes.
  return /^[^\n\r]+$/.test(value) && value.trim() === value ? [value, doubleQuoted] : [doubleQuoted];
}

/** Undefined when `text` parses to exactly `expected`, else what differs. */
function verify(text: string, expected: readonly unknown[]): string | undefined {
  const parsed = parseAllDocuments(text);
  const documents = Array.isArray(parsed) ? parsed : [];
  if (documents.length !== expected.length) return "the number of documents changed";
  for (const [index, document] of documents.entries()) {
    if (document.errors.length > 0) return `document ${index} no longer parses`;
    if (!isDeepStrictEqual(document.toJS(), expected[index]))
      return `document ${index} would read differently`;
  }
  return undefined;
}

/** A copy of `root` with `path` set to `value`. */
function withValue(root: unknown, path: readonly PathSegment[], value: unknown): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (Array.isArray(root) && typeof head === "number") {
    const copy: unknown[] = [...root];
    copy[head] = withValue(copy[head], rest, value);
    return copy;
  }
  if (root instanceof Map) {
    const copy = new Map(root);
    copy.set(head, withValue(root.get(head), rest, value));
    return copy;
  }
  if (typeof root === "object" && root !== null) {
    const record = root as Record<string, unknown>;
    return { ...record, [head]: withValue(record[head], rest, value) };
  }
  return root;
}

function hasAlias(document: Document.Parsed, anchor: string): boolean {
  let found = false;
  visit(document, {
    Alias(_key, alias) {
      if (alias.source === anchor) {
        found = true;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

function describeValue(value: unknown): string | number | undefined {
  if (typeof value === "string" || typeof value === "number") return value;
  if (value === null || value === undefined) return undefined;
  return String(value);
}
