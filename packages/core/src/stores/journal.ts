import { StoreError } from "../errors/selfheal-error.js";
import type { StoreRecord } from "./projection.js";

/**
 * The journal format: one JSON object per line. Each write of the store is its records, one
 * per line, then a commit line. Replay applies a write only once its commit line is read, so
 * a crash in the middle of a write leaves none of it (the Store contract: all or nothing),
 * even when the write's first records reached the disk.
 */
const commitLine = `${JSON.stringify({ kind: "commit" })}\n`;

/** The journal text of a write whose records are already JSON lines. */
export function encodeLines(lines: readonly string[]): string {
  let text = "";
  for (const line of lines) text += `${line}\n`;
  return text + commitLine;
}

/** What reading a journal found. */
export interface JournalScan {
  /** Bytes up to the end of the last committed write: the journal is truncated to this. */
  readonly committedLength: number;
  /** Lines after it: an unfinished write (a crash mid-write). */
  readonly droppedLines: number;
}

/**
 * Read a journal, handing each committed record to `apply` in order. A torn end (a last line
 * without its newline or that does not parse, and records without their commit line) is left
 * out; a bad line anywhere else is corruption and throws a `StoreError` naming the line.
 *
 * With `strict`, a torn end is corruption too: only the newest journal can end in a write that
 * a crash cut short, since the store moves on to a new journal only between writes.
 */
export function scanJournal(
  bytes: Buffer,
  file: string,
  apply: (record: StoreRecord) => void,
  strict = false,
): JournalScan {
  let committedLength = 0;
  let pending: StoreRecord[] = [];
  let pendingLines = 0;
  let lineNumber = 0;
  let start = 0;
  while (start < bytes.length) {
    const end = bytes.indexOf(0x0a, start);
    if (end === -1) {
      pendingLines++;
      break;
    }
    lineNumber++;
    const line = parseLine(bytes.toString("utf8", start, end));
    start = end + 1;
    if (line === undefined) {
      if (start === bytes.length) {
        pendingLines++;
        break;
      }
      throw corrupt(file, lineNumber, "not a journal record");
    }
    if (line.kind === "commit") {
      for (const record of pending) apply(record);
      pending = [];
      pendingLines = 0;
      committedLength = start;
    } else {
      pending.push(line);
      pendingLines++;
    }
  }
  if (strict && committedLength < bytes.length) {
    let line = 1;
    for (let at = bytes.indexOf(0x0a); at !== -1 && at < committedLength; at = bytes.indexOf(0x0a, at + 1))
      line++;
    throw corrupt(file, line, "a write without its commit line");
  }
  return { committedLength, droppedLines: pendingLines };
}

function corrupt(file: string, line: number, what: string): StoreError {
  return new StoreError(`journal ${file} is corrupt at line ${line}: ${what}`, {
    adapter: "file-store",
    operation: "open",
    retryable: false,
  });
}

type JournalLine = StoreRecord | { readonly kind: "commit" };

/** The line as a record, or undefined when it is not one. Checks the shape replay relies on. */
function parseLine(text: string): JournalLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const line = value as Record<string, unknown>;
  switch (line.kind) {
    case "commit":
      return { kind: "commit" };
    case "seen":
      return typeof line.dedupKey === "string" &&
        (typeof line.incidentId === "string" || line.incidentId === null)
        ? (value as StoreRecord)
        : undefined;
    case "incident": {
      const incident = line.incident as Record<string, unknown> | null | undefined;
      return typeof incident === "object" && incident !== null && typeof incident.id === "string"
        ? (value as StoreRecord)
        : undefined;
    }
    case "events":
      return Array.isArray(line.events) ? (value as StoreRecord) : undefined;
    default:
      return undefined;
  }
}
