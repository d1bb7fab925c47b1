import { type BareRepo, BareRepoMap } from "@selfheal/gitops/testing";
import type { GitLabModel, StoredCommit, StoredFile, StoredMergeRequest } from "./gitlab-model.js";

/**
 * A {@link GitLabModel} whose branches, commits and files live in a bare repository (the one a
 * test git server serves), as GitLab's API and its git endpoint share one repository: a branch
 * pushed over git is seen by the API, and a commit made through the API can be fetched. Merge
 * requests stay in memory. `commits` and `branches` answer `get`, `has` and `set` only.
 */
export function bareRepoGitLabModel(git: BareRepo): GitLabModel {
  // Commits made here are dated after the fixtures' (2026-01-01), one second apart.
  let clock = Date.UTC(2026, 0, 2);
  const tick = () => {
    clock += 1000;
    return new Date(clock).toISOString();
  };
  const mergeRequests: StoredMergeRequest[] = [];

  const blobsOf = (id: string): Map<string, string> => {
    const commit = git.commit(id);
    return (commit === undefined ? undefined : git.files(commit.tree)) ?? new Map();
  };

  const storedCommit = (id: string): StoredCommit | undefined => {
    const commit = git.commit(id);
    if (commit === undefined) return undefined;
    const blobs = git.files(commit.tree) ?? new Map<string, string>();
    // Read a file, and the commit that last changed it, only when a handler asks for it.
    const files = new BareRepoMap<StoredFile>((path) => {
      const blob = blobs.get(path);
      const content = blob === undefined ? undefined : git.blob(blob);
      return content === undefined ? undefined : { content, lastCommitId: git.lastCommitOf(id, path) ?? id };
    });
    return { id, parentIds: commit.parents, message: commit.message, files, createdAt: commit.time };
  };

  const commits = new BareRepoMap<StoredCommit>(storedCommit);
  const branches = new BareRepoMap<string>(
    (name) => git.ref(`heads/${name}`),
    (name, sha) => git.setRef(`heads/${name}`, sha),
  );

  const headOf = (branch: string): string => {
    const head = git.ref(`heads/${branch}`);
    if (head === undefined) throw new Error(`stand-in: no branch ${branch}`);
    return head;
  };

  const commit = (parent: string | undefined, changes: Readonly<Record<string, string>>, message: string) => {
    const blobs = parent === undefined ? new Map<string, string>() : blobsOf(parent);
    for (const [path, content] of Object.entries(changes)) blobs.set(path, git.writeBlob(content));
    return git.writeCommit(git.writeTree(blobs), parent === undefined ? [] : [parent], message, tick());
  };

  const contentOf = (id: string): Record<string, string> =>
    Object.fromEntries([...blobsOf(id)].map(([path, blob]) => [path, git.blob(blob) ?? ""]));

  return {
    commits,
    branches,
    mergeRequests,
    commit,
    push(branch, changes, message) {
      const id = commit(headOf(branch), changes, message);
      git.setRef(`heads/${branch}`, id);
      return id;
    },
    filesOf: (branch) => contentOf(headOf(branch)),
    merge(mr, squash) {
      const source = headOf(mr.sourceBranch);
      const target = headOf(mr.targetBranch);
      const tree = git.commit(source)?.tree ?? "";
      let landed = source;
      if (squash) {
        landed = git.writeCommit(tree, [target], mr.title, tick());
        mr.squashCommitSha = landed;
      }
      const merged = git.writeCommit(tree, [target, landed], `Merge branch '${mr.sourceBranch}'`, tick());
      git.setRef(`heads/${mr.targetBranch}`, merged);
      mr.mergeCommitSha = merged;
      mr.state = "merged";
      mr.mergedAt = tick();
    },
  };
}
