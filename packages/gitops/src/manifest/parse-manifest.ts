import { type Document, isAlias, isMap, isScalar, isSeq, type Node, parseAllDocuments } from "yaml";
import { ManifestError } from "./manifest-error.js";

/** One step of a path: a mapping key or a sequence index. */
export type PathSegment = string | number;

/** A parsed file: its documents, in order. */
export interface ParsedManifest {
  readonly text: string;
  readonly documents: readonly Document.Parsed[];
}

/** Parses every document of `text`, throwing `ManifestError` with line and column on the first error. */
export function parseManifest(text: string, operation: string): ParsedManifest {
  const parsed = parseAllDocuments(text, { prettyErrors: true });
  const documents = Array.isArray(parsed) ? parsed : [];
  for (const [documentIndex, document] of documents.entries()) {
    const error = document.errors[0];
    if (error === undefined) continue;
    const position = error.linePos?.[0];
    const at = position === undefined ? "" : ` at line ${position.line}, column ${position.col}`;
    const firstLine = error.message.split("\n", 1)[0] ?? error.message;
    throw new ManifestError(`YAML does not parse${at} (${error.code}): ${firstLine}`, {
      documentIndex,
      operation,
      cause: error,
    });
  }
  return { text, documents };
}

/** `spec.template.spec.containers[1].image` for `["spec", "template", "spec", "containers", 1, "image"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? segment : `.${segment}`;
  }
  return out;
}

/** Splits `image.tag` or `containers[0].image` into segments. Keys containing dots cannot be addressed. */
export function parseDottedPath(path: string, operation: string): PathSegment[] {
  const segments: PathSegment[] = [];
  for (const part of path.split(".")) {
    const match = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (match === null || (match[1] === "" && match[2] === "")) {
      throw new ManifestError(`"${path}" is not a dotted path (want e.g. "image.tag")`, { operation });
    }
    if (match[1] !== undefined && match[1] !== "") segments.push(match[1]);
    for (const index of (match[2] ?? "").matchAll(/\[(\d+)\]/g)) segments.push(Number(index[1]));
  }
  return segments;
}

/** Where a lookup ended: the node found, or the first segment that was missing and why. */
export type Lookup =
  | { readonly found: true; readonly node: Node }
  | { readonly found: false; readonly depth: number; readonly reason: string };

/**
 * Follows `path` from `node` through mappings and sequences. Aliases on the way are refused:
 * editing through one would change the anchored node and every other alias of it.
 */
export function lookup(node: unknown, path: readonly PathSegment[]): Lookup {
  let current: unknown = node;
  for (const [depth, segment] of path.entries()) {
    if (isAlias(current))
      return { found: false, depth, reason: "is an alias; edit the anchored node instead" };
    if (typeof segment === "number") {
      if (!isSeq(current)) return { found: false, depth, reason: "is not a sequence" };
      const item = current.items[segment];
      if (item === undefined) {
        return { found: false, depth: depth + 1, reason: `does not exist (${current.items.length} items)` };
      }
      current = item;
      continue;
    }
    if (!isMap(current)) return { found: false, depth, reason: "is not a mapping" };
    const pair = current.items.find((item) => isScalar(item.key) && String(item.key.value) === segment);
    if (pair === undefined) return { found: false, depth: depth + 1, reason: "does not exist" };
    current = pair.value;
  }
  if (current === null || current === undefined) {
    return { found: false, depth: path.length, reason: "has no value" };
  }
  if (isAlias(current)) {
    return { found: false, depth: path.length, reason: "is an alias; edit the anchored node instead" };
  }
  return { found: true, node: current as Node };
}

/** A string field of a mapping, or undefined. */
export function stringAt(node: unknown, path: readonly PathSegment[]): string | undefined {
  const found = lookup(node, path);
  if (!found.found || !isScalar(found.node)) return undefined;
  return typeof found.node.value === "string" ? found.node.value : undefined;
}
