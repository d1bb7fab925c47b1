import { readFile } from "node:fs/promises";
import { BadInputError } from "@selfheal/core";

/** Exit codes of `selfheal`: documented in `--help` and the README. */
export const exitCodes = {
  /** Done. */
  ok: 0,
  /** Something failed while running (a server unreachable, a store error). */
  failure: 1,
  /** Bad usage or config: unknown option, invalid `selfheal.yaml`, unreadable input file. */
  usage: 2,
} as const;

/** Where a command reads and writes: the process's streams, or a test's buffers. */
export interface CliIo {
  /** Write to standard output (results). */
  readonly stdout: (text: string) => void;
  /** Write to standard error (progress, logs, errors). */
  readonly stderr: (text: string) => void;
  /** Whether standard error is a terminal (animated progress). */
  readonly interactive: boolean;
  readonly env: NodeJS.ProcessEnv;
  /** Folder relative paths on the command line are taken from. */
  readonly cwd: string;
  /** Aborted when the process is asked to stop (SIGINT, SIGTERM): ends `run`. */
  readonly stop: AbortSignal;
}

/** The real process's streams and signals. */
export function processIo(stop: AbortSignal): CliIo {
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    interactive: process.stderr.isTTY === true,
    env: process.env,
    cwd: process.cwd(),
    stop,
  };
}

/** Wrong command-line usage: exit code 2 with the command's help. */
export class UsageError extends BadInputError {
  /** The command whose help to show. */
  readonly command: string;
  constructor(message: string, command: string) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

/**
 * The JSON in the file at `path`, named `given` (as the user typed it) in errors: a file that
 * cannot be read or is not JSON is a `BadInputError` (exit code 2).
 */
export async function readJsonArgument(path: string, given: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new BadInputError(`${given}: cannot read: ${messageOf(error)}`, { path: given, cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new BadInputError(
      `${given}:${jsonErrorPosition(text, messageOf(error))} not JSON: ${messageOf(error)}`,
      {
        path: given,
        cause: error,
      },
    );
  }
}

/**
 * `line:column:` of a `JSON.parse` error, from the position its message names (Node's messages
 * name an offset, or a line and column, depending on the version); empty when it names neither.
 */
export function jsonErrorPosition(text: string, message: string): string {
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn !== null) return `${lineColumn[1]}:${lineColumn[2]}:`;
  const offset = /position (\d+)/.exec(message);
  if (offset === null) {
    // "Unexpected end of JSON input": the end of the text.
    if (!/end of (JSON|data)/i.test(message)) return "";
  }
  const at = offset === null ? text.length : Number(offset[1]);
  const before = text.slice(0, at).split("\n");
  return `${before.length}:${(before.at(-1)?.length ?? 0) + 1}:`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
