import type { IncomingMessage } from "node:http";
import { findJsonSyntaxError } from "./json-syntax-error.js";

const quotedString = /^"(.*)"$/;

/**
 * Why a `Content-Type` / `Content-Encoding` pair is refused (for a 415), or `undefined` when the
 * body is JSON we can read: `application/json`, any case, with at most a UTF-8 charset parameter.
 */
export function unsupportedMediaType(
  contentType: string | undefined,
  contentEncoding: string | undefined,
): string | undefined {
  if (contentType === undefined || contentType.trim() === "") {
    return "missing Content-Type header: expected application/json";
  }
  const semicolon = contentType.indexOf(";");
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  if (mediaType !== "application/json") {
    return `unsupported Content-Type ${quote(contentType)}: expected application/json`;
  }
  if (semicolon !== -1) {
    for (const parameter of contentType.slice(semicolon + 1).split(";")) {
      const equals = parameter.indexOf("=");
      if (equals === -1 || parameter.slice(0, equals).trim().toLowerCase() !== "charset") continue;
      const charset = parameter
        .slice(equals + 1)
        .trim()
        .replace(quotedString, "$1")
        .toLowerCase();
      if (charset !== "utf-8" && charset !== "utf8") {
        return `unsupported charset in Content-Type ${quote(contentType)}: JSON must be UTF-8`;
      }
    }
  }
  if (contentEncoding !== undefined && contentEncoding.trim().toLowerCase() !== "identity") {
    return `unsupported Content-Encoding ${quote(contentEncoding)}: send the body uncompressed`;
  }
  return undefined;
}

/** The outcome of reading a request body under a size limit. */
export type BodyReadResult =
  | { readonly kind: "complete"; readonly body: Buffer }
  /** The body passed the limit; reading stopped there and nothing read is kept. */
  | { readonly kind: "too_large"; readonly receivedBytes: number }
  /** The client went away before sending all of it: there is no one to answer. */
  | { readonly kind: "aborted" };

/**
 * Read a request body, counting bytes as they arrive (chunked bodies have no Content-Length to
 * check up front). Stops listening at `limitBytes + 1`; the caller then answers 413 and drains.
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<BodyReadResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyReadResult) => {
      if (settled) return;
      settled = true;
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      req.off("error", onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        chunks.length = 0;
        settle({ kind: "too_large", receivedBytes: size });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      const body = chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size);
      settle({ kind: "complete", body });
    };
    // 'close' before 'end' (or 'error'), means the client aborted the upload.
    const onClose = () => settle({ kind: "aborted" });
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("close", onClose);
    req.on("error", onClose);
  });
}

/** A parsed JSON body, or a message saying where the JSON is broken. */
export type JsonParseResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly message: string };

const byteOrderMark = 0xfeff;

/** Parse a UTF-8 JSON body. On failure, the message names the position (offset, line, column). */
export function parseJsonBody(body: Buffer): JsonParseResult {
  let text = body.toString("utf8");
  if (text.charCodeAt(0) === byteOrderMark) text = text.slice(1);
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    if (text.trim() === "") return { ok: false, message: "malformed JSON: the body is empty" };
    const problem = findJsonSyntaxError(text);
    if (problem === undefined) {
      return {
        ok: false,
        message: `malformed JSON: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    return {
      ok: false,
      message: `malformed JSON at position ${problem.position} (line ${problem.line}, column ${problem.column}): ${problem.description}`,
    };
  }
}

function quote(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}
