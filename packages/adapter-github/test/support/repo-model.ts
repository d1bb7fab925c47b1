import { createHash } from "node:crypto";
import { type BareRepo, BareRepoMap } from "@selfheal/gitops/testing";

/** A commit of the stand-in's repository. */
export interface ModelCommit {
  readonly sha: string;
  readonly tree: string;
  readonly parents: readonly string[];
  readonly message: string;
}

/** A pull request of the stand-in's repository. */
export interface ModelPull {
  readonly number: number;
  readonly nodeId: string;
  title: string;
  body: string;
  readonly head: string;
  readonly base: string;
  readonly draft: boolean;
  state: "open" | "closed";
  labels: string[];
  comments: string[];
  mergedAt: string | null;
  mergeSha: string | null;
  autoMerge: string | null;
  updatedAt: string;
}

/**
 * The repository behind the GitHub stand-in: blobs, flat trees (path → blob), commits, refs,
 * and pull requests with their labels and comments. Enough git for the forge's scenarios.
 */
export class RepoModel {
  readonly blobs: Map<string, string>;
  readonly trees: Map<string, ReadonlyMap<string, string>>;
  readonly commits: Map<string, ModelCommit>;
  /** `heads/main` → commit SHA. */
  readonly refs: Map<string, string>;
  readonly pulls: ModelPull[] = [];
  private clock = Date.parse("2026-01-01T00:00:00Z");
  private readonly git: BareRepo | undefined;

  /**
   * With `git`, objects and refs live in that bare repository instead of memory, as GitHub's
   * API and its git endpoint share one repository: a branch pushed over git is seen by the API,
   * and a commit made through the API can be fetched. Pull requests stay in memory.
   */
  constructor(
    readonly defaultBranch = "main",
    git?: BareRepo,
  ) {
    this.git = git;
    if (git !== undefined) {
      this.blobs = new BareRepoMap((sha) => git.blob(sha));
      this.trees = new BareRepoMap((sha) => git.files(sha));
      this.commits = new BareRepoMap((sha) => {
        const commit = git.commit(sha);
        return commit === undefined ? undefined : { sha, ...commit };
      });
      this.refs = new BareRepoMap(
        (ref) => git.ref(ref),
        (ref, sha) => git.setRef(ref, sha),
      );
      return;
    }
    this.blobs = new Map();
    this.trees = new Map();
    this.commits = new Map();
    this.refs = new Map();
    const tree = this.writeTree(new Map(), [
      { path: "README.md", content: "config repo\n" },
      { path: "apps/checkout/deployment.yaml", content: "image: v0\n" },
    ]);
    this.refs.set(`heads/${defaultBranch}`, this.writeCommit(tree, [], "initial").sha);
  }

  /** A later timestamp at each call, so "most recently updated" is well defined. */
  tick(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  writeBlob(content: string): string {
    if (this.git !== undefined) return this.git.writeBlob(content);
    const sha = gitSha("blob", content);
    this.blobs.set(sha, content);
    return sha;
  }

  /** A tree: `base` with each entry set (`content` or `sha`), or removed (`sha: null`). */
  writeTree(
    base: ReadonlyMap<string, string>,
    entries: readonly { path: string; content?: string; sha?: string | null }[],
  ): string {
    const files = new Map(base);
    for (const entry of entries) {
      if (entry.content !== undefined) files.set(entry.path, this.writeBlob(entry.content));
      else if (entry.sha === null || entry.sha === undefined) files.delete(entry.path);
      else files.set(entry.path, entry.sha);
    }
    if (this.git !== undefined) return this.git.writeTree(files);
    const listing = [...files].sort(([left], [right]) => left.localeCompare(right));
    const sha = gitSha("tree", JSON.stringify(listing));
    this.trees.set(sha, files);
    return sha;
  }

  writeCommit(tree: string, parents: readonly string[], message: string): ModelCommit {
    if (this.git !== undefined) {
      return { sha: this.git.writeCommit(tree, parents, message, this.tick()), tree, parents, message };
    }
    const commit = {
      sha: gitSha("commit", JSON.stringify([tree, parents, message, this.tick()])),
      tree,
      parents,
      message,
    };
    this.commits.set(commit.sha, commit);
    return commit;
  }

  /** Whether `ancestor` is `descendant` or one of its ancestors. */
  isAncestor(ancestor: string, descendant: string): boolean {
    if (this.git !== undefined) return this.git.isAncestor(ancestor, descendant);
    const queue = [descendant];
    const seen = new Set<string>();
    while (queue.length > 0) {
      const sha = queue.pop() as string;
      if (sha === ancestor) return true;
      if (seen.has(sha)) continue;
      seen.add(sha);
      queue.push(...(this.commits.get(sha)?.parents ?? []));
    }
    return false;
  }

  /** Make `branch` one commit ahead of the default branch, as a push would. */
  pushBranch(branch: string): string {
    const base = this.refs.get(`heads/${this.defaultBranch}`) as string;
    const parent = this.commits.get(base) as ModelCommit;
    const tree = this.writeTree(this.trees.get(parent.tree) ?? new Map(), [
      { path: `changes/${branch}.txt`, content: `${branch}\n` },
    ]);
    const commit = this.writeCommit(tree, [base], `change on ${branch}`);
    this.refs.set(`heads/${branch}`, commit.sha);
    return commit.sha;
  }

  openPull(head: string, base: string, title: string, body: string, draft: boolean): ModelPull {
    const number = this.pulls.length + 1;
    const pull: ModelPull = {
      number,
      nodeId: `PR_kwDO${String(number).padStart(6, "0")}`,
      title,
      body,
      head,
      base,
      draft,
      state: "open",
      labels: [],
      comments: [],
      mergedAt: null,
      mergeSha: null,
      autoMerge: null,
      updatedAt: this.tick(),
    };
    this.pulls.push(pull);
    return pull;
  }

  /** Merge a pull request: a merge commit on its base, with the head's tree. */
  merge(pull: ModelPull, method: string): string {
    const baseSha = this.refs.get(`heads/${pull.base}`) as string;
    const headSha = this.refs.get(`heads/${pull.head}`) as string;
    const head = this.commits.get(headSha) as ModelCommit;
    const parents = method === "merge" ? [baseSha, headSha] : [baseSha];
    const commit = this.writeCommit(head.tree, parents, `Merge pull request #${pull.number}`);
    this.refs.set(`heads/${pull.base}`, commit.sha);
    pull.state = "closed";
    pull.mergedAt = this.tick();
    pull.mergeSha = commit.sha;
    pull.updatedAt = pull.mergedAt;
    return commit.sha;
  }
}

function gitSha(kind: string, content: string): string {
  return createHash("sha1")
    .update(`${kind} ${Buffer.byteLength(content)}\0${content}`)
    .digest("hex");
}
