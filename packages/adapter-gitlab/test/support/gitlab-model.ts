import { createHash, randomUUID } from "node:crypto";

/** A file in a commit's tree, with the last commit that changed it. */
export interface StoredFile {
  readonly content: string;
  readonly lastCommitId: string;
}

export interface StoredCommit {
  readonly id: string;
  readonly parentIds: readonly string[];
  readonly message: string;
  readonly files: ReadonlyMap<string, StoredFile>;
  readonly createdAt: string;
}

export interface StoredMergeRequest {
  readonly iid: number;
  readonly id: number;
  title: string;
  description: string;
  state: "opened" | "closed" | "locked" | "merged";
  readonly sourceBranch: string;
  readonly targetBranch: string;
  labels: string[];
  mergeWhenPipelineSucceeds: boolean;
  mergeCommitSha: string | null;
  squashCommitSha: string | null;
  mergedAt: string | null;
  readonly createdAt: number;
  readonly notes: string[];
}

/**
 * The repository and merge requests of one GitLab project, in memory: branches point at
 * commits, commits hold whole trees. Each stand-in has its own (no module state).
 */
export interface GitLabModel {
  readonly commits: Map<string, StoredCommit>;
  readonly branches: Map<string, string>;
  readonly mergeRequests: StoredMergeRequest[];
  /** Make a commit on top of `parent` (or a root commit) with `changes` applied. */
  commit(parent: string | undefined, changes: Readonly<Record<string, string>>, message: string): string;
  /** Commit `changes` onto `branch` (which must exist) and move it. */
  push(branch: string, changes: Readonly<Record<string, string>>, message: string): string;
  /** The files of `branch`'s head, path → content. */
  filesOf(branch: string): Record<string, string>;
  /** Merge `mr` into its target: a merge commit (after a squash commit when `squash`). */
  merge(mr: StoredMergeRequest, squash: boolean): void;
}

export function gitLabModel(defaultBranch: string): GitLabModel {
  const salt = randomUUID();
  let counter = 0;
  let clock = 0;
  const commits = new Map<string, StoredCommit>();
  const branches = new Map<string, string>();
  const mergeRequests: StoredMergeRequest[] = [];

  const commit = (parent: string | undefined, changes: Readonly<Record<string, string>>, message: string) => {
    const id = createHash("sha1").update(`${salt}:${++counter}`).digest("hex");
    const files = new Map(parent === undefined ? [] : (commits.get(parent)?.files ?? []));
    for (const [path, content] of Object.entries(changes)) files.set(path, { content, lastCommitId: id });
    const createdAt = new Date(Date.UTC(2026, 0, 1, 0, 0, ++clock)).toISOString();
    commits.set(id, { id, parentIds: parent === undefined ? [] : [parent], message, files, createdAt });
    return id;
  };

  const headOf = (branch: string): string => {
    const head = branches.get(branch);
    if (head === undefined) throw new Error(`stand-in: no branch ${branch}`);
    return head;
  };

  const push = (branch: string, changes: Readonly<Record<string, string>>, message: string) => {
    const id = commit(headOf(branch), changes, message);
    branches.set(branch, id);
    return id;
  };

  const contentOf = (id: string): Record<string, string> =>
    Object.fromEntries([...(commits.get(id)?.files ?? [])].map(([path, file]) => [path, file.content]));

  branches.set(defaultBranch, commit(undefined, { "README.md": "# config\n" }, "Initial commit"));

  return {
    commits,
    branches,
    mergeRequests,
    commit,
    push,
    filesOf: (branch) => contentOf(headOf(branch)),
    merge(mr, squash) {
      const source = headOf(mr.sourceBranch);
      const target = headOf(mr.targetBranch);
      let landed = source;
      if (squash) {
        landed = commit(target, contentOf(source), mr.title);
        mr.squashCommitSha = landed;
      }
      const merged = commit(target, contentOf(landed), `Merge branch '${mr.sourceBranch}'`);
      const stored = commits.get(merged);
      if (stored !== undefined) commits.set(merged, { ...stored, parentIds: [target, landed] });
      branches.set(mr.targetBranch, merged);
      mr.mergeCommitSha = merged;
      mr.state = "merged";
      mr.mergedAt = new Date(Date.UTC(2026, 0, 2, 0, 0, ++clock)).toISOString();
    },
  };
}
