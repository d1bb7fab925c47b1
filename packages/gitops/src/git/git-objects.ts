import { createHash } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

/**
 * Git objects written and packed by hand. isomorphic-git's `writeBlob`/`writeTree` take 3 to
 * 10 ms per object and its `packObjects` re-reads what was just written; a one-file commit
 * adds five or so small objects, which this writes in well under a millisecond each and packs
 * from memory.
 */

export type GitObjectType = "commit" | "tree" | "blob";

/** An object ready to store or send: its id, type and uncompressed body. */
export interface GitObject {
  readonly oid: string;
  readonly type: GitObjectType;
  readonly body: Uint8Array;
}

/** One entry of a tree object. */
export interface TreeItem {
  /** `100644`, `100755`, `120000`, `040000` (tree) or `160000` (submodule). */
  readonly mode: string;
  readonly path: string;
  readonly oid: string;
}

const encoder = new TextEncoder();

/** Hash an object the way git does: SHA-1 of `<type> <length>\0<body>`. */
export function gitObject(type: GitObjectType, body: Uint8Array): GitObject {
  const hash = createHash("sha1");
  hash.update(`${type} ${body.length}\0`);
  hash.update(body);
  return { oid: hash.digest("hex"), type, body };
}

/** A tree object of `items`, in git's order (a folder sorts as if its name ended in `/`). */
export function treeObject(items: readonly TreeItem[]): GitObject {
  const sortKey = (item: TreeItem) => (item.mode === "040000" ? `${item.path}/` : item.path);
  const sorted = [...items].sort((a, b) => compareBytes(sortKey(a), sortKey(b)));
  const parts: Uint8Array[] = [];
  for (const item of sorted) {
    // git writes tree modes without the leading zero.
    parts.push(encoder.encode(`${item.mode === "040000" ? "40000" : item.mode} ${item.path}\0`));
    parts.push(Buffer.from(item.oid, "hex"));
  }
  return gitObject("tree", Buffer.concat(parts));
}

/** Who and when, for a commit. */
export interface Signature {
  readonly name: string;
  readonly email: string;
  /** Seconds since the epoch. */
  readonly timestamp: number;
}

/** A commit object. */
export function commitObject(commit: {
  readonly tree: string;
  readonly parents: readonly string[];
  readonly author: Signature;
  readonly committer: Signature;
  readonly message: string;
}): GitObject {
  const person = (signature: Signature) =>
    `${signature.name} <${signature.email}> ${signature.timestamp} +0000`;
  const lines = [`tree ${commit.tree}`, ...commit.parents.map((parent) => `parent ${parent}`)];
  lines.push(`author ${person(commit.author)}`, `committer ${person(commit.committer)}`, "", commit.message);
  return gitObject("commit", encoder.encode(lines.join("\n")));
}

/**
 * Store an object loose under `gitdir/objects`, as git does: zlib-deflated header and body,
 * written to a temporary file and renamed into place so a crash never leaves a torn object.
 * Writing an object that exists already replaces it with the same bytes.
 */
export async function writeLooseObject(gitdir: string, object: GitObject): Promise<void> {
  const folder = join(gitdir, "objects", object.oid.slice(0, 2));
  const path = join(folder, object.oid.slice(2));
  await mkdir(folder, { recursive: true });
  const header = encoder.encode(`${object.type} ${object.body.length}\0`);
  const temporary = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(temporary, deflateSync(Buffer.concat([header, object.body])));
  await rename(temporary, path);
}

const packTypes: Record<GitObjectType, number> = { commit: 1, tree: 2, blob: 3 };

/** A version 2 packfile holding `objects` whole (no deltas), with its SHA-1 trailer. */
export function packObjects(objects: readonly GitObject[]): Uint8Array {
  const header = Buffer.alloc(12);
  header.write("PACK", 0, "ascii");
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(objects.length, 8);
  const parts: Uint8Array[] = [header];
  for (const object of objects) {
    parts.push(entryHeader(packTypes[object.type], object.body.length), deflateSync(object.body));
  }
  const content = Buffer.concat(parts);
  return Buffer.concat([content, createHash("sha1").update(content).digest()]);
}

/** Type and size: 3 type bits and 4 size bits in the first byte, then 7 size bits per byte. */
function entryHeader(type: number, size: number): Uint8Array {
  const bytes: number[] = [];
  let byte = (type << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(byte | 0x80);
    byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(byte);
  return Uint8Array.from(bytes);
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
