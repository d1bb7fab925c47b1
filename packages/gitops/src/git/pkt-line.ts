/**
 * Git's pkt-line framing (gitprotocol-common): four hex digits giving the length of the line
 * including themselves, then the payload; `0000` is a flush packet.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One pkt-line holding `payload`. */
export function pktLine(payload: string | Uint8Array): Uint8Array {
  const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
  const length = bytes.length + 4;
  if (length > 65520) throw new RangeError(`pkt-line payload too long: ${bytes.length} bytes`);
  const out = new Uint8Array(length);
  out.set(encoder.encode(length.toString(16).padStart(4, "0")), 0);
  out.set(bytes, 4);
  return out;
}

/** The flush packet. */
export const flushPkt: Uint8Array = encoder.encode("0000");

/** A decoded pkt-line: its text, or `null` for a flush (or delimiter) packet. */
export type PktLine = string | null;

/**
 * Splits a buffer of pkt-lines. Stops at the end of the buffer; a truncated line is an error,
 * reported with its offset.
 */
export function parsePktLines(buffer: Uint8Array): PktLine[] {
  const lines: PktLine[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    if (offset + 4 > buffer.length) throw new Error(`truncated pkt-line length at byte ${offset}`);
    const length = Number.parseInt(decoder.decode(buffer.subarray(offset, offset + 4)), 16);
    if (Number.isNaN(length)) throw new Error(`malformed pkt-line length at byte ${offset}`);
    if (length < 4) {
      lines.push(null);
      offset += 4;
      continue;
    }
    if (offset + length > buffer.length) throw new Error(`truncated pkt-line at byte ${offset}`);
    lines.push(decoder.decode(buffer.subarray(offset + 4, offset + length)));
    offset += length;
  }
  return lines;
}
