import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreError } from "../src/errors/selfheal-error.js";
import { encodeLines, scanJournalFile } from "../src/stores/journal.js";
import type { StoreRecord } from "../src/stores/projection.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "journal-scan-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const seen = (dedupKey: string): StoreRecord => ({ kind: "seen", dedupKey, incidentId: null });
const write = (...records: StoreRecord[]) => encodeLines(records.map((record) => JSON.stringify(record)));

async function scan(text: string, options: { strict?: boolean; chunkBytes?: number } = {}) {
  const file = join(dir, "journal.ndjson");
  await writeFile(file, text);
  const applied: StoreRecord[] = [];
  const result = await scanJournalFile(file, (record) => applied.push(record), options);
  return { ...result, applied };
}

describe("scanJournalFile", () => {
  // Keys with characters of two, three and four bytes in UTF-8, so slices of a few bytes cut
  // through them.
  const text =
    write(seen("caf\u00e9"), seen("\u20ac-1")) +
    write(seen("\u{1f600}")) +
    write(seen("plain"), seen("last"));

  it("reads the same records whatever the slice size, lines and characters cut across slices", async () => {
    const whole = await scan(text);
    expect(whole.applied.map((record) => (record.kind === "seen" ? record.dedupKey : ""))).toEqual([
      "caf\u00e9",
      "\u20ac-1",
      "\u{1f600}",
      "plain",
      "last",
    ]);
    expect(whole.committedLength).toBe(Buffer.byteLength(text));
    for (const chunkBytes of [1, 2, 3, 5, 7, 64]) {
      const sliced = await scan(text, { chunkBytes });
      expect(sliced.applied, `slices of ${chunkBytes} bytes`).toEqual(whole.applied);
      expect(sliced.committedLength).toBe(whole.committedLength);
      expect(sliced.bytes).toBe(Buffer.byteLength(text));
    }
  });

  it("leaves out a write without its commit line and a last line without its newline", async () => {
    const torn = `${text}${JSON.stringify(seen("uncommitted"))}\n{"kind":"se`;
    for (const chunkBytes of [3, 1_048_576]) {
      const result = await scan(torn, { chunkBytes });
      expect(result.applied).toHaveLength(5);
      expect(result.committedLength).toBe(Buffer.byteLength(text));
      expect(result.droppedLines).toBe(2);
    }
  });

  it("takes a last line that does not parse for a torn end, and the same line before others for corruption", async () => {
    const tornEnd = await scan(`${text}not json\n`, { chunkBytes: 4 });
    expect(tornEnd.applied).toHaveLength(5);
    expect(tornEnd.droppedLines).toBe(1);
    const lines = text.split("\n").length; // the line after the text's last newline
    const corrupt = scan(`${text}not json\n${write(seen("after"))}`, { chunkBytes: 4 });
    await expect(corrupt).rejects.toBeInstanceOf(StoreError);
    await expect(corrupt).rejects.toThrow(
      `journal ${join(dir, "journal.ndjson")} is corrupt at line ${lines}: not a journal record`,
    );
  });

  it("in strict mode, names the first line of a write without its commit line", async () => {
    const file = join(dir, "journal.ndjson");
    const lines = text.split("\n").length;
    await expect(
      scan(`${text}${JSON.stringify(seen("x"))}\n`, { strict: true, chunkBytes: 5 }),
    ).rejects.toThrow(`journal ${file} is corrupt at line ${lines}: a write without its commit line`);
  });
});
