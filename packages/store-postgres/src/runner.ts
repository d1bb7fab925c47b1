import { createHash } from "node:crypto";
import { describeError, SelfHealError, StoreError } from "@selfheal/core";
import { sleep } from "@selfheal/core/internal";
import type pg from "pg";
import { adapter, type PostgresConfig } from "./postgres-settings.js";

/** A connection checked out of the pool, for the duration of one call. */
export type Connection = pg.PoolClient;

/** How the store talks to the database: every call goes through one of these. */
export interface Runner {
  /** Run reads on one pooled connection; retried on a lost connection (reads change nothing). */
  read<T>(operation: string, body: (connection: Connection) => Promise<T>): Promise<T>;
  /**
   * Run `body` in a transaction. Retried from the start, a bounded number of times, when it
   * failed in a way known to have rolled it back (connection lost before COMMIT was sent,
   * deadlock, serialization failure); never when COMMIT itself was cut off.
   */
  transaction<T>(operation: string, body: (connection: Connection) => Promise<T>): Promise<T>;
  /**
   * Run one autocommit write. Retried only when no connection could be had: once the statement
   * was sent, a lost connection leaves its outcome unknown.
   */
  statement<T>(operation: string, body: (connection: Connection) => Promise<T>): Promise<T>;
  /**
   * A statement the server parses and plans once per connection. Named by a hash of its text:
   * the text holds the schema, and names longer than 63 bytes would be cut and could collide.
   */
  prepared(text: string, values: unknown[]): pg.QueryConfig;
}

// SQLSTATEs after which the transaction is known to have rolled back and trying again may work.
const rolledBackCodes = new Set(["40001", "40P01", "57P01", "57P02", "57P03", "53300"]);
const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

/** Whether an error means the connection or server went away (or a retry-safe rollback). */
export function isTransient(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (
    typeof code === "string" &&
    (networkCodes.has(code) || rolledBackCodes.has(code) || code.startsWith("08"))
  )
    return true;
  const message = error instanceof Error ? error.message : "";
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}

/** The outcome of a COMMIT that never answered is unknown: the caller must re-read, not retry blindly. */
class CommitUnknown extends Error {}

/**
 * The connection was lost after a write was sent and before the database said it committed:
 * it may or may not have been recorded. Re-read before doing it again.
 */
export class StoreOutcomeUnknownError extends StoreError {
  constructor(message: string, options: { readonly operation: string; readonly cause?: unknown }) {
    super(message, { ...options, adapter, retryable: false });
    this.name = "StoreOutcomeUnknownError";
  }
}

export function createRunner(config: PostgresConfig): Runner {
  const { pool, name, writeRetries } = config;
  // Connections that already have the listener below (the pool hands the same ones out again).
  const heard = new WeakSet<Connection>();

  /**
   * A connection from the pool that cannot end the process. One the server terminates while it
   * is checked out (pg_terminate_backend, a failover) fails its query and then also emits
   * 'error'; the pool listens only to idle connections, and an unheard 'error' is an uncaught
   * exception. The failed query is what the caller handles; the event adds nothing.
   */
  const checkout = async (): Promise<Connection> => {
    const connection = await pool.connect();
    if (!heard.has(connection)) {
      heard.add(connection);
      connection.on("error", ignoreError);
    }
    return connection;
  };

  const fail = (operation: string, cause: unknown): Error => {
    if (SelfHealError.isInstance(cause)) return cause;
    if (cause instanceof CommitUnknown) {
      return new StoreOutcomeUnknownError(
        `${name}: ${operation} lost the connection before the database confirmed it; it may or may not have been recorded`,
        { operation, cause: cause.cause },
      );
    }
    return new StoreError(`${name}: ${operation} failed: ${describeError(cause)}`, {
      adapter,
      operation,
      cause,
      retryable: isTransient(cause),
    });
  };

  const attempt = async <T>(operation: string, retries: number, once: () => Promise<T>): Promise<T> => {
    for (let tried = 0; ; tried++) {
      try {
        return await once();
      } catch (error) {
        if (tried >= retries || error instanceof CommitUnknown || !isTransient(error))
          throw fail(operation, error);
        // 50 ms, 200 ms, 800 ms..., with jitter so replicas do not retry in step.
        await sleep(50 * 4 ** tried * (0.5 + Math.random()));
      }
    }
  };

  /**
   * Run `body` on one pooled connection. When `sentMeansUnknown`, a lost connection leaves the
   * outcome of what was sent unknown (an autocommit write), unless the database rolled it back.
   */
  const onConnection = async <T>(
    body: (connection: Connection) => Promise<T>,
    sentMeansUnknown: boolean,
  ): Promise<T> => {
    const connection = await checkout();
    try {
      const result = await body(connection);
      connection.release();
      return result;
    } catch (error) {
      const transient = isTransient(error);
      // A connection that failed is not put back: it may be broken.
      connection.release(transient ? asError(error) : undefined);
      if (sentMeansUnknown && transient && !rolledBackCodes.has(codeOf(error)))
        throw new CommitUnknown("statement outcome unknown", { cause: error });
      throw error;
    }
  };

  // Statement names by SQL text: hashing is done once per text, not on every call.
  const statementNames = new Map<string, string>();

  return {
    prepared: (text, values) => {
      let statementName = statementNames.get(text);
      if (statementName === undefined) {
        statementName = `selfheal_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`;
        statementNames.set(text, statementName);
      }
      return { name: statementName, text, values };
    },
    read: (operation, body) => attempt(operation, writeRetries, () => onConnection(body, false)),
    statement: (operation, body) => attempt(operation, writeRetries, () => onConnection(body, true)),
    transaction: (operation, body) =>
      attempt(operation, writeRetries, async () => {
        const connection = await checkout();
        let committing = false;
        try {
          await connection.query("BEGIN");
          const result = await body(connection);
          committing = true;
          await connection.query("COMMIT");
          connection.release();
          return result;
        } catch (error) {
          if (committing && isTransient(error) && !rolledBackCodes.has(codeOf(error))) {
            connection.release(asError(error));
            throw new CommitUnknown("commit outcome unknown", { cause: error });
          }
          const broken = await connection.query("ROLLBACK").then(
            () => undefined,
            (rollbackError: unknown) => asError(rollbackError),
          );
          connection.release(broken);
          throw error;
        }
      }),
  };
}

function ignoreError(): void {}

function codeOf(error: unknown): string {
  const code = typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === "string" ? code : "";
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
