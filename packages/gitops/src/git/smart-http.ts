import { describeError, ForgeError, type ForgeErrorKind } from "@selfheal/core";
import { flushPkt, parsePktLines, pktLine } from "./pkt-line.js";

/**
 * The two requests of git's smart HTTP protocol (v0) that the push path needs, spoken
 * directly: the ref advertisement and `git-receive-pack`. isomorphic-git's own `push` walks
 * the whole tree of the pushed commit to find what to send; we already know the handful of
 * objects a one-file commit adds, so we send exactly those.
 */

/** Where a repository is, and the headers (auth) every request carries. */
export interface GitRemote {
  /** `https://host/owner/repo.git`, without credentials. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** One ref to move: from `oldSha` (`null`: it must not exist yet) to `newSha`. */
export interface RefUpdate {
  readonly ref: string;
  readonly oldSha: string | null;
  readonly newSha: string;
}

/** What the server said about one ref. */
export interface RefStatus {
  readonly ref: string;
  readonly ok: boolean;
  /** The server's reason when refused (`non-fast-forward`, `failed to update ref`). */
  readonly reason?: string;
}

const zeroSha = "0000000000000000000000000000000000000000";
const agent = "agent=selfheal";

/** The refs a remote advertises for `service`, by name. Peeled tag entries (`^{}`) are left out. */
export async function listRemoteRefs(
  remote: GitRemote,
  service: "git-upload-pack" | "git-receive-pack",
  signal: AbortSignal,
): Promise<Map<string, string>> {
  const url = `${remote.url}/info/refs?service=${service}`;
  const body = await request(url, { method: "GET", headers: remote.headers, signal }, "listRemoteRefs");
  const refs = new Map<string, string>();
  let lines: ReturnType<typeof parsePktLines>;
  try {
    lines = parsePktLines(body);
  } catch (error) {
    throw protocolError(`${describeError(error)} in the ref advertisement`, url, "listRemoteRefs");
  }
  for (const line of lines) {
    if (line === null || line.startsWith("#")) continue;
    const text = line.split("\0")[0]?.trimEnd() ?? "";
    const space = text.indexOf(" ");
    const sha = text.slice(0, space);
    const name = text.slice(space + 1);
    if (space !== 40 || name.endsWith("^{}") || sha === zeroSha) continue;
    refs.set(name, sha);
  }
  return refs;
}

/**
 * Sends ref updates and a packfile holding every object they need that the server lacks.
 * The server moves each ref only if it still points at `oldSha` (compare-and-swap), so a
 * concurrent push makes ours fail instead of being overwritten. Never forces.
 */
export async function receivePack(
  remote: GitRemote,
  updates: readonly RefUpdate[],
  packfile: Uint8Array | undefined,
  signal: AbortSignal,
): Promise<RefStatus[]> {
  const url = `${remote.url}/git-receive-pack`;
  const parts: Uint8Array[] = updates.map((update, index) => {
    const line = `${update.oldSha ?? zeroSha} ${update.newSha} ${update.ref}`;
    return pktLine(index === 0 ? `${line}\0report-status ${agent}\n` : `${line}\n`);
  });
  parts.push(flushPkt);
  if (packfile !== undefined) parts.push(packfile);
  const body = await request(
    url,
    {
      method: "POST",
      headers: {
        ...remote.headers,
        "content-type": "application/x-git-receive-pack-request",
        accept: "application/x-git-receive-pack-result",
      },
      body: Buffer.concat(parts),
      signal,
    },
    "push",
  );
  let lines: ReturnType<typeof parsePktLines>;
  try {
    lines = parsePktLines(body);
  } catch (error) {
    throw protocolError(`${describeError(error)} in the push report`, url, "push");
  }
  const texts = lines.filter((line): line is string => line !== null).map((line) => line.trimEnd());
  const unpack = texts.find((line) => line.startsWith("unpack "));
  if (unpack !== "unpack ok") {
    throw new ForgeError(`git server could not store the pushed objects: ${unpack ?? "no report"}`, {
      kind: "unavailable",
      adapter: "git",
      operation: "push",
      url,
    });
  }
  return updates.map((update) => {
    const line = texts.find((text) => text === `ok ${update.ref}` || text.startsWith(`ng ${update.ref} `));
    if (line === undefined) return { ref: update.ref, ok: false, reason: "no status reported" };
    return line.startsWith("ok ")
      ? { ref: update.ref, ok: true }
      : { ref: update.ref, ok: false, reason: line.slice(`ng ${update.ref} `.length) };
  });
}

async function request(url: string, init: RequestInit, operation: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (init.signal?.aborted === true) throw init.signal.reason;
    throw new ForgeError(`git server unreachable: ${describeError(error)}`, {
      kind: "unavailable",
      adapter: "git",
      operation,
      url,
      cause: error,
    });
  }
  const body = new Uint8Array(await response.arrayBuffer());
  if (!response.ok) {
    const text = new TextDecoder().decode(body.subarray(0, 300)).trim();
    throw new ForgeError(`git server answered ${response.status}${text === "" ? "" : `: ${text}`}`, {
      kind: kindOfStatus(response.status),
      adapter: "git",
      operation,
      url,
      status: response.status,
    });
  }
  return body;
}

function kindOfStatus(status: number): ForgeErrorKind {
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 404) return "not_found";
  if (status === 429) return "rate_limited";
  if (status >= 500) return "unavailable";
  return "invalid";
}

function protocolError(message: string, url: string, operation: string): ForgeError {
  return new ForgeError(`git server spoke an unexpected protocol: ${message}`, {
    kind: "unavailable",
    adapter: "git",
    operation,
    url,
  });
}

/**
 * Fetches a packfile with every object reachable from `want` that is not reachable from
 * `haves` (git-upload-pack, protocol v0, no side-band). The pack is self-contained: without
 * `thin-pack` the server deltas only against objects inside it.
 */
export async function fetchPack(
  remote: GitRemote,
  want: string,
  haves: readonly string[],
  signal: AbortSignal,
): Promise<Uint8Array> {
  const url = `${remote.url}/git-upload-pack`;
  const parts = [pktLine(`want ${want} ofs-delta no-progress ${agent}\n`), flushPkt];
  for (const have of haves) parts.push(pktLine(`have ${have}\n`));
  parts.push(pktLine("done\n"));
  const body = await request(
    url,
    {
      method: "POST",
      headers: {
        ...remote.headers,
        "content-type": "application/x-git-upload-pack-request",
        accept: "application/x-git-upload-pack-result",
      },
      body: Buffer.concat(parts),
      signal,
    },
    "fetch",
  );
  // ACK/NAK lines come first, then the pack itself.
  const decoder = new TextDecoder();
  let offset = 0;
  while (offset + 4 <= body.length && decoder.decode(body.subarray(offset, offset + 4)) !== "PACK") {
    const length = Number.parseInt(decoder.decode(body.subarray(offset, offset + 4)), 16);
    if (Number.isNaN(length))
      throw protocolError(`malformed pkt-line at byte ${offset} of the fetch answer`, url, "fetch");
    if (length >= 4 && decoder.decode(body.subarray(offset + 4, offset + 7)) === "ERR") {
      const message = decoder.decode(body.subarray(offset + 8, offset + length)).trim();
      throw new ForgeError(`git server refused the fetch: ${message}`, {
        kind: "invalid",
        adapter: "git",
        operation: "fetch",
        url,
      });
    }
    offset += Math.max(4, length);
  }
  if (offset + 4 > body.length) throw protocolError("no packfile in the fetch answer", url, "fetch");
  return body.subarray(offset);
}
