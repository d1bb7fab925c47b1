/** The header block a CGI writes before its body. */
export interface CgiHead {
  /** From the `Status:` header, else 200 as CGI prescribes. */
  status: number;
  /** Every other header, in order; a name may repeat. */
  headers: [name: string, value: string][];
  /** Bytes after the blank line: the start of the body. */
  rest: Buffer;
}

const lineFeed = 0x0a;
const carriageReturn = 0x0d;

/**
 * Splits a CGI's output at the first blank line (CRLF or LF line endings, even mixed).
 * Returns undefined while the blank line has not arrived yet.
 */
export function parseCgiHead(output: Buffer): CgiHead | undefined {
  const lines: string[] = [];
  let lineStart = 0;
  for (;;) {
    const newline = output.indexOf(lineFeed, lineStart);
    if (newline === -1) return undefined;
    const lineEnd = newline > lineStart && output[newline - 1] === carriageReturn ? newline - 1 : newline;
    if (lineEnd === lineStart) return toHead(lines, output.subarray(newline + 1));
    lines.push(output.toString("latin1", lineStart, lineEnd));
    lineStart = newline + 1;
  }
}

function toHead(lines: string[], rest: Buffer): CgiHead {
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") {
      const code = Number.parseInt(value, 10);
      if (code >= 100 && code <= 599) status = code;
    } else {
      headers.push([name, value]);
    }
  }
  return { status, headers, rest };
}
