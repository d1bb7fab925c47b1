import { BadInputError, type FileWrite } from "@selfheal/core";
import git, { type CallbackFsClient, type PromiseFsClient, type TreeEntry } from "isomorphic-git";
import type { ConfigTree } from "../locate/config-tree.js";
import { type GitObject, gitObject, treeObject } from "./git-objects.js";
import type { FileVersion } from "./git-workspace.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * Reads and rewrites git trees object by object. Trees are immutable, so listings and entries
 * are cached by their object id: after a one-file commit only the trees along the changed
 * path are read again.
 */
export class TreeReader {
  private readonly entries = new Map<string, readonly TreeEntry[]>();
  private readonly listings = new Map<string, readonly string[]>();
  private readonly roots = new Map<string, string>();

  constructor(
    private readonly fs: CallbackFsClient | PromiseFsClient,
    private readonly gitdir: string,
    private readonly cache: object,
  ) {}

  /** Forget what was read (the clone was made again). */
  clear(): void {
    this.entries.clear();
    this.listings.clear();
    this.roots.clear();
  }

  configTree(commit: string): ConfigTree {
    return {
      list: async () => this.list(await this.rootOf(commit)),
      read: async (path) => {
        const text = await this.readFile(commit, path);
        if (text === undefined) {
          throw new BadInputError(`no file "${path}" at commit ${commit.slice(0, 12)}`, {
            adapter: "gitops",
            path,
          });
        }
        return text;
      },
    };
  }

  async readFile(commit: string, path: string): Promise<string | undefined> {
    const oid = await this.blobAt(await this.rootOf(commit), path);
    if (oid === undefined) return undefined;
    const { blob } = await git.readBlob({ fs: this.fs, gitdir: this.gitdir, oid, cache: this.cache });
    return decoder.decode(blob);
  }

  /**
   * Writes `files` into the tree `root`, creating the blobs and the trees along their paths,
   * and resolves with the new root tree's id (equal to `root` when nothing changed). Every
   * object written is appended to `written`.
   */
  async rewrite(root: string, files: readonly FileWrite[], written: GitObject[]): Promise<string> {
    const changes = new Map<string, string>();
    for (const file of files) changes.set(checkPath(file.path), file.content);
    return this.rewriteTree(root, changes, written);
  }

  async *fileHistory(path: string, from: string, limit: number): AsyncGenerator<FileVersion> {
    // Walk first parents, yielding a version each time the blob differs from the one before it.
    let sha: string | undefined = from;
    let current: { commit: string; time: Date; oid: string } | undefined;
    for (let walked = 0; sha !== undefined && walked < limit; walked++) {
      const { commit } = await git.readCommit({
        fs: this.fs,
        gitdir: this.gitdir,
        oid: sha,
        cache: this.cache,
      });
      const oid = await this.blobAt(commit.tree, path);
      if (current !== undefined && oid !== current.oid) {
        yield await this.version(current);
        current = undefined;
      }
      if (oid === undefined) return;
      current = { commit: sha, time: new Date(commit.committer.timestamp * 1000), oid };
      sha = commit.parent[0];
    }
    if (current !== undefined && sha === undefined) yield await this.version(current);
  }

  private async version(found: { commit: string; time: Date; oid: string }): Promise<FileVersion> {
    const { blob } = await git.readBlob({
      fs: this.fs,
      gitdir: this.gitdir,
      oid: found.oid,
      cache: this.cache,
    });
    return { commit: found.commit, time: found.time, content: decoder.decode(blob) };
  }

  /** The root tree of a commit; commits never change, so each is read once. */
  private async rootOf(commit: string): Promise<string> {
    const known = this.roots.get(commit);
    if (known !== undefined) return known;
    const { commit: object } = await git.readCommit({
      fs: this.fs,
      gitdir: this.gitdir,
      oid: commit,
      cache: this.cache,
    });
    this.roots.set(commit, object.tree);
    return object.tree;
  }

  private async tree(oid: string): Promise<readonly TreeEntry[]> {
    const known = this.entries.get(oid);
    if (known !== undefined) return known;
    const { tree } = await git.readTree({ fs: this.fs, gitdir: this.gitdir, oid, cache: this.cache });
    this.entries.set(oid, tree);
    return tree;
  }

  private async blobAt(root: string, path: string): Promise<string | undefined> {
    let oid = root;
    const segments = path.split("/");
    for (const [index, segment] of segments.entries()) {
      const entry = (await this.tree(oid)).find((candidate) => candidate.path === segment);
      const last = index === segments.length - 1;
      if (entry === undefined || entry.type !== (last ? "blob" : "tree")) return undefined;
      oid = entry.oid;
    }
    return oid;
  }

  private async list(oid: string): Promise<readonly string[]> {
    const known = this.listings.get(oid);
    if (known !== undefined) return known;
    const paths: string[] = [];
    for (const entry of await this.tree(oid)) {
      if (entry.type === "blob") paths.push(entry.path);
      else if (entry.type === "tree")
        for (const path of await this.list(entry.oid)) paths.push(`${entry.path}/${path}`);
    }
    this.listings.set(oid, paths);
    return paths;
  }

  private async rewriteTree(
    oid: string | undefined,
    changes: Map<string, string>,
    written: GitObject[],
  ): Promise<string> {
    const entries = new Map(
      (oid === undefined ? [] : await this.tree(oid)).map((entry) => [entry.path, entry]),
    );
    const subdirectories = new Map<string, Map<string, string>>();
    let changed = oid === undefined;
    for (const [path, content] of changes) {
      const slash = path.indexOf("/");
      if (slash === -1) {
        const existing = entries.get(path);
        if (existing?.type === "tree")
          throw new BadInputError(`"${path}" is a folder, not a file`, { adapter: "gitops", path });
        const blob = gitObject("blob", encoder.encode(content));
        if (existing?.oid === blob.oid) continue;
        written.push(blob);
        changed = true;
        entries.set(path, { mode: existing?.mode ?? "100644", path, oid: blob.oid, type: "blob" });
        continue;
      }
      const name = path.slice(0, slash);
      const nested = subdirectories.get(name) ?? new Map<string, string>();
      nested.set(path.slice(slash + 1), content);
      subdirectories.set(name, nested);
    }
    for (const [name, nested] of subdirectories) {
      const existing = entries.get(name);
      if (existing !== undefined && existing.type !== "tree") {
        throw new BadInputError(`"${name}" is a file, not a folder`, { adapter: "gitops", path: name });
      }
      const sub = await this.rewriteTree(existing?.oid, nested, written);
      if (sub === existing?.oid) continue;
      changed = true;
      entries.set(name, { mode: "040000", path: name, oid: sub, type: "tree" });
    }
    if (!changed && oid !== undefined) return oid;
    const next = treeObject([...entries.values()]);
    written.push(next);
    // Later reads of the new tree (the next change, a locate) need not parse it back.
    this.entries.set(next.oid, [...entries.values()]);
    return next.oid;
  }
}

function checkPath(path: string): string {
  const segments = path.split("/");
  if (
    path === "" ||
    segments.some((segment) => segment === "" || segment === "." || segment === ".." || segment === ".git")
  ) {
    throw new BadInputError(`not a valid repository path: "${path}"`, { adapter: "gitops", path });
  }
  return path;
}
