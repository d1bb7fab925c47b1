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

/**
 * Parse a UTF-8 JSON body. On failure, the message names the position (offset, line, column).
 * Bytes that are not UTF-8 are refused, with their byte offset: decoded leniently they would
 * become U+FFFD and the controller would act on text the sender never wrote.
 */
export function parseJsonBody(body: Buffer): JsonParseResult {
  let text: string;
  try {
    // `fatal`: throw on malformed bytes instead of replacing them; a leading BOM is dropped.
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    const offset = invalidUtf8Offset(body);
    return {
      ok: false,
      message: `body is not valid UTF-8: malformed byte sequence at byte offset ${offset}; send the JSON as UTF-8`,
    };
  }
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

/** Byte offset of the first byte that does not start or continue a well-formed UTF-8 sequence. */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  let index = 0;
  while (index < bytes.length) {
    const lead = bytes[index] ?? 0;
    if (lead < 0x80) {
      index++;
      continue;
    }
    // Sequence length and the allowed range of the second byte (RFC 3629: no overlongs, no surrogates).
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return index;
    for (let next = 1; next < length; next++) {
      const byte = bytes[index + next];
      if (byte === undefined) return index;
      const [min, max] = next === 1 ? [low, high] : [0x80, 0xbf];
      if (byte < min || byte > max) return index;
    }
    index += length;
  }
  return bytes.length;
}

function quote(value: string): string {
  return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
}
