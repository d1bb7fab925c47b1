import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { access, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describeError, type FileWrite, ForgeError, SelfHealError } from "@selfheal/core";
import { Mutex } from "@selfheal/core/internal";
import git from "isomorphic-git";
import http from "isomorphic-git/http/node";
import type { ConfigTree } from "../locate/config-tree.js";
import { commitObject, type GitObject, packObjects, writeLooseObject } from "./git-objects.js";
import { cleanRemoteUrl, withoutCredentials } from "./remote-url.js";
import { fetchPack, type GitRemote, listRemoteRefs, type RefStatus, receivePack } from "./smart-http.js";
import { TreeReader } from "./tree-reader.js";

/** Credentials for the config repository's git server. */
export type GitAuth =
  /** HTTP basic: a token as password (GitHub: any username; GitLab: `oauth2`). */
  | { readonly username?: string; readonly password: string }
  /** Headers sent as they are (`Authorization: Bearer ...`). */
  | { readonly headers: Readonly<Record<string, string>> };

/** Who commits. */
export interface GitIdentity {
  readonly name: string;
  readonly email: string;
}

/** Settings of {@link openGitWorkspace}. */
export interface GitWorkspaceSettings {
  /**
   * Clone URL over HTTP(S) (`https://github.com/acme/config.git`). Credentials in it
   * (`https://user:token@host/...`) are taken out: used as `auth` when `auth` is absent, and
   * never shown in errors nor written to the clone's `.git/config`. Prefer `auth`.
   */
  readonly url: string;
  /** Folder kept between runs for the warm clone. Created when missing. */
  readonly dir: string;
  /**
   * The branch remediations start from (and land on, for direct commits).
   * @default "main"
   */
  readonly branch?: string;
  readonly auth?: GitAuth;
  /**
   * Author and committer of selfheal's commits.
   * @default { name: "selfheal", email: "selfheal@localhost" }
   */
  readonly identity?: GitIdentity;
}

/** A commit to write: files replaced on top of `parent`. */
export interface CommitFiles {
  readonly parent: string;
  readonly files: readonly FileWrite[];
  /** The whole message, trailers included. */
  readonly message: string;
  /**
   * Author and commit time. Giving the same time for the same change makes the commit's SHA
   * the same too, so redoing a change after a crash yields the commit already pushed.
   * @default now
   */
  readonly time?: Date;
}

/**
 * A warm clone of a config repository, kept in a folder between runs: fetched incrementally,
 * written without a working tree or index (the blob, the trees along the changed path, the
 * commit), and pushed with only the objects the commit adds. One per clone folder, shared by
 * everything that works on that repository: `refresh`, `commit` and `push` are serialised;
 * reads are not, and need not be (objects and packs appear in the folder whole).
 */
export interface GitWorkspace {
  readonly url: string;
  readonly branch: string;
  /**
   * Fetch the branch (cloning on first use) and resolve with its head. Incremental: only
   * what is new since the last fetch comes over the wire.
   */
  refresh(signal: AbortSignal): Promise<string>;
  /** The files of a commit, for locating and reading manifests. Listings are cached per tree. */
  tree(commit: string): ConfigTree;
  /** The text of `path` at `commit`, or `undefined` when there is no such file. */
  readFile(commit: string, path: string): Promise<string | undefined>;
  /**
   * Write a commit replacing `files` on top of `parent`. Resolves `undefined` when the files
   * already hold that content (nothing to commit). Nothing leaves the machine until `push`.
   */
  commit(request: CommitFiles): Promise<string | undefined>;
  /**
   * Move `ref` on the server from `oldSha` (`null`: create it) to `newSha`, a commit made by
   * `commit` (in this process or, with the same content and time, before a restart), sending
   * only the objects it added. The server refuses when the ref moved meanwhile: never forced.
   */
  push(
    update: { readonly ref: string; readonly oldSha: string | null; readonly newSha: string },
    signal: AbortSignal,
  ): Promise<RefStatus>;
  /** Refs on the server whose name starts with `prefix` (`refs/heads/selfheal/`). */
  remoteRefs(prefix: string, signal: AbortSignal): Promise<Map<string, string>>;
  /** Commit metadata (message, time, parents). */
  readCommit(
    sha: string,
  ): Promise<{ readonly message: string; readonly time: Date; readonly parents: readonly string[] }>;
  /**
   * The versions of `path` on the first-parent history from `from`, newest first: each commit
   * where the file's content changed, with that content. At most `limit` commits are walked.
   */
  fileHistory(
    path: string,
    options: { readonly from: string; readonly limit?: number },
  ): AsyncGenerator<FileVersion>;
}

/** One version of a file in history. */
export interface FileVersion {
  /** The commit that introduced this content. */
  readonly commit: string;
  readonly time: Date;
  readonly content: string;
}

const defaultIdentity: GitIdentity = { name: "selfheal", email: "selfheal@localhost" };

/** Open (and on first `refresh`, clone) the warm workspace of one repository. */
export function openGitWorkspace(settings: GitWorkspaceSettings): GitWorkspace {
  const branch = settings.branch ?? "main";
  const gitdir = join(settings.dir, ".git");
  const { url, auth } = withoutCredentials(settings.url.replace(/\/+$/, ""), settings.auth);
  const headers = authHeaders(auth);
  const remote: GitRemote = { url, headers };
  const identity = settings.identity ?? defaultIdentity;
  // isomorphic-git keeps parsed packfile indexes here; one per workspace, never shared.
  const cache = {};
  const trees = new TreeReader(fs, gitdir, cache);
  const lock = new Mutex();
  // Objects each commit added, so a push sends exactly those.
  const added = new Map<string, GitObject[]>();
  let cloned: boolean | undefined;

  /** Clone when there is no clone yet; resolves true when it cloned just now. */
  const ensureClone = async (signal: AbortSignal): Promise<boolean> => {
    if (cloned === undefined) {
      cloned = await exists(join(gitdir, "HEAD"));
      if (cloned) await cleanRemoteUrl(gitdir, url);
    }
    if (cloned) return false;
    await mkdir(settings.dir, { recursive: true });
    await gitCall("clone", url, signal, () =>
      git.clone({
        fs,
        http,
        dir: settings.dir,
        gitdir,
        url,
        ref: branch,
        singleBranch: true,
        noCheckout: true,
        noTags: true,
        headers,
        cache,
      }),
    );
    cloned = true;
    return true;
  };

  const hasObject = async (oid: string): Promise<boolean> => {
    try {
      await git.readObject({ fs, gitdir, oid, format: "content", cache });
      return true;
    } catch {
      return false;
    }
  };

  // A fetched pack is stored as git would (objects/pack/pack-<checksum>.pack) and indexed
  // by isomorphic-git, so later reads find its objects like any others. Reads take no lock
  // (several remediators and enrichers share one clone) and load every index in objects/pack:
  // the pack and its index are written in a folder of their own and renamed into place, the
  // index last, so a reader finds either no index or a whole one whose pack is there.
  const storePack = async (pack: Uint8Array): Promise<void> => {
    const name = `pack-${Buffer.from(pack.subarray(pack.length - 20)).toString("hex")}`;
    const folder = join(gitdir, "objects", "pack");
    const staging = `incoming-${process.pid}-${randomUUID()}`;
    await mkdir(folder, { recursive: true });
    await mkdir(join(gitdir, "objects", staging));
    try {
      await writeFile(join(gitdir, "objects", staging, `${name}.pack`), pack);
      await git.indexPack({
        fs,
        dir: settings.dir,
        gitdir,
        filepath: join(".git", "objects", staging, `${name}.pack`),
        cache,
      });
      for (const file of [`${name}.pack`, `${name}.idx`]) {
        await rename(join(gitdir, "objects", staging, file), join(folder, file));
      }
    } finally {
      await rm(join(gitdir, "objects", staging), { recursive: true, force: true });
    }
  };

  const refreshOnce = async (signal: AbortSignal): Promise<string> => {
    const clonedNow = await ensureClone(signal);
    const tracking = `refs/remotes/origin/${branch}`;
    if (clonedNow) return git.resolveRef({ fs, gitdir, ref: tracking });
    const local = await git.resolveRef({ fs, gitdir, ref: tracking });
    const refs = await listRemoteRefs(remote, "git-upload-pack", signal);
    const remoteHead = refs.get(`refs/heads/${branch}`);
    if (remoteHead === undefined) {
      throw new ForgeError(`branch ${branch} does not exist on ${url}`, {
        kind: "not_found",
        adapter: "git",
        operation: "fetch",
        url,
      });
    }
    if (remoteHead === local || (await hasObject(remoteHead))) {
      // Known already (our own push, or nothing new): no pack to fetch.
      if (remoteHead !== local)
        await git.writeRef({ fs, gitdir, ref: tracking, value: remoteHead, force: true });
      return remoteHead;
    }
    const pack = await fetchPack(remote, remoteHead, [local], signal);
    await storePack(pack);
    await git.writeRef({ fs, gitdir, ref: tracking, value: remoteHead, force: true });
    return remoteHead;
  };

  return {
    url,
    branch,
    refresh: (signal) =>
      lock.run(async () => {
        try {
          return await refreshOnce(signal);
        } catch (error) {
          // A server problem is the caller's to see. Anything else is the clone itself (a pack
          // torn by a crash, a lost ref): it is only a cache, so start it again from the server.
          if (SelfHealError.isInstance(error) || signal.aborted) throw error;
          await rm(settings.dir, { recursive: true, force: true });
          cloned = false;
          trees.clear();
          for (const key of Reflect.ownKeys(cache)) Reflect.deleteProperty(cache, key);
          return refreshOnce(signal);
        }
      }),
    tree: (commit) => trees.configTree(commit),
    readFile: (commit, path) => trees.readFile(commit, path),
    commit: (request) =>
      lock.run(async () => {
        const { commit: parent } = await git.readCommit({ fs, gitdir, oid: request.parent, cache });
        const written: GitObject[] = [];
        const root = await trees.rewrite(parent.tree, request.files, written);
        if (root === parent.tree) return undefined;
        const seconds = Math.floor((request.time ?? new Date()).getTime() / 1000);
        const person = { name: identity.name, email: identity.email, timestamp: seconds };
        const commit = commitObject({
          tree: root,
          parents: [request.parent],
          author: person,
          committer: person,
          message: withNewline(request.message),
        });
        written.push(commit);
        await Promise.all(written.map((object) => writeLooseObject(gitdir, object)));
        added.set(commit.oid, written);
        return commit.oid;
      }),
    push: (update, signal) =>
      lock.run(async () => {
        const objects = added.get(update.newSha);
        if (objects === undefined) {
          throw new ForgeError(
            `commit ${update.newSha} was not made by this workspace; cannot tell what to send`,
            {
              kind: "invalid",
              adapter: "git",
              operation: "push",
              url,
            },
          );
        }
        const [status] = await receivePack(remote, [update], packObjects(objects), signal);
        if (status === undefined) throw new Error("receivePack answered no status");
        if (status.ok && update.ref === `refs/heads/${branch}`) {
          await git.writeRef({
            fs,
            gitdir,
            ref: `refs/remotes/origin/${branch}`,
            value: update.newSha,
            force: true,
          });
        }
        return status;
      }),
    remoteRefs: async (prefix, signal) => {
      const refs = await listRemoteRefs(remote, "git-upload-pack", signal);
      return new Map([...refs].filter(([name]) => name.startsWith(prefix)));
    },
    readCommit: async (sha) => {
      const { commit } = await git.readCommit({ fs, gitdir, oid: sha, cache });
      return {
        message: commit.message,
        time: new Date(commit.committer.timestamp * 1000),
        parents: commit.parent,
      };
    },
    fileHistory: (path, options) => trees.fileHistory(path, options.from, options.limit ?? 500),
  };
}

async function gitCall<T>(
  operation: string,
  url: string,
  signal: AbortSignal,
  run: () => Promise<T>,
): Promise<T> {
  signal.throwIfAborted();
  try {
    return await run();
  } catch (error) {
    const status = (error as { data?: { statusCode?: unknown } }).data?.statusCode;
    const code = typeof status === "number" ? status : undefined;
    throw new ForgeError(`git ${operation} failed: ${describeError(error)}`, {
      kind:
        code === 401
          ? "unauthorized"
          : code === 403
            ? "forbidden"
            : code === 404
              ? "not_found"
              : "unavailable",
      adapter: "git",
      operation,
      url,
      ...(code === undefined ? {} : { status: code }),
      cause: error,
    });
  }
}

function authHeaders(auth: GitAuth | undefined): Record<string, string> {
  if (auth === undefined) return {};
  if ("headers" in auth) return { ...auth.headers };
  const basic = Buffer.from(`${auth.username ?? "selfheal"}:${auth.password}`).toString("base64");
  return { authorization: `Basic ${basic}` };
}

function withNewline(message: string): string {
  return message.endsWith("\n") ? message : `${message}\n`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
