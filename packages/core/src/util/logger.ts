import { type Redactor, redactDeep } from "./redact.js";

/** Structured fields of a log line. */
export type LogFields = Readonly<Record<string, unknown>>;

/** Where the controller writes what it does. Plug in pino, winston or the console. */
export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const levels = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof levels;

/**
 * A logger that writes one JSON object per line (to stderr by default), credentials redacted.
 * @param settings.level lowest level written, @default "info"
 */
export function jsonLogger(
  settings: { readonly level?: LogLevel; readonly write?: (line: string) => void } = {},
): Logger {
  const threshold = levels[settings.level ?? "info"];
  const write = settings.write ?? ((line: string) => process.stderr.write(line));
  const log = (level: LogLevel) => (message: string, fields?: LogFields) => {
    if (levels[level] < threshold) return;
    const line = redactDeep({ time: new Date().toISOString(), level, message, ...fields });
    write(`${JSON.stringify(line)}\n`);
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

/**
 * A logger that hands `logger` each line with `redactor` applied to the message and every field:
 * the controller wraps whatever logger it is given in one of these, so a line can never carry
 * one of its configured secrets, even through pino or winston. Errors in fields reach `logger`
 * as plain `{ name, message, ... }` objects.
 */
export function redactingLogger(logger: Logger, redactor: Redactor): Logger {
  const log = (write: Logger["info"]) => (message: string, fields?: LogFields) =>
    write(redactor.redact(message), fields === undefined ? undefined : redactor.redactDeep(fields));
  return {
    debug: log(logger.debug.bind(logger)),
    info: log(logger.info.bind(logger)),
    warn: log(logger.warn.bind(logger)),
    error: log(logger.error.bind(logger)),
  };
}

/** A logger that writes nothing (tests, `selfheal replay --json`). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
