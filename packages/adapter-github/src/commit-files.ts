import type { ApiCommit } from "@selfheal/core";
import { ForgeError } from "@selfheal/core";
import type { GithubClient } from "./github-forge-settings.js";
import { GithubGitCommit, GithubGitRef, GithubGitTree } from "./github-schemas.js";
import { type RequestRunner, send } from "./request-runner.js";

/** What `commitFiles` needs from its forge. */
export interface CommitFilesContext {
  readonly client: GithubClient;
  readonly runner: RequestRunner;
  readonly owner: string;
  readonly repo: string;
}

const operation = "commitFiles";

/**
 * Commit `commit.files` on top of `commit.parentSha` with the Git Data API (no clone), then
 * create `commit.branch` there or move it forward. Never forces: a branch that is not at
 * `parentSha` any more is a `ForgeError` of kind `conflict`.
 *
 * Each step is a mutation, spaced by the forge's interval, so file contents go inline in the
 * tree (one request) rather than as one blob request per file.
 */
export async function commitFiles(
  context: CommitFilesContext,
  commit: ApiCommit,
  signal: AbortSignal,
): Promise<{ readonly sha: string }> {
  const { client, runner, owner, repo } = context;
  const ref = `heads/${commit.branch}`;
  if (!commit.createBranch) {
    // PATCH with force:false refuses only non-fast-forwards. It would accept our commit onto a
    // branch that is behind `parentSha` (reset to an ancestor, or `parentSha` read from another
    // branch) and silently bring the commits in between with it. The contract is stricter: the
    // branch must be exactly at `parentSha`, so read it first.
    const current = await send(
      runner,
      { operation, mutation: false, signal },
      GithubGitRef,
      (requestSignal) =>
        client.request("GET /repos/{owner}/{repo}/git/ref/{ref}", {
          owner,
          repo,
          ref,
          request: { signal: requestSignal },
        }),
    );
    if (current.object.sha !== commit.parentSha) {
      throw new ForgeError(
        `GitHub ${operation}: branch ${commit.branch} is at ${current.object.sha}, not at the expected ${commit.parentSha}`,
        { kind: "conflict", adapter: "github", operation },
      );
    }
  }
  const parent = await send(
    runner,
    { operation, mutation: false, signal },
    GithubGitCommit,
    (requestSignal) =>
      client.request("GET /repos/{owner}/{repo}/git/commits/{commit_sha}", {
        owner,
        repo,
        commit_sha: commit.parentSha,
        request: { signal: requestSignal },
      }),
  );
  const tree = await send(runner, { operation, mutation: true, signal }, GithubGitTree, (requestSignal) =>
    client.request("POST /repos/{owner}/{repo}/git/trees", {
      owner,
      repo,
      base_tree: parent.tree.sha,
      tree: commit.files.map((file) => ({
        path: file.path,
        mode: "100644" as const,
        type: "blob" as const,
        content: file.content,
      })),
      request: { signal: requestSignal },
    }),
  );
  const created = await send(
    runner,
    { operation, mutation: true, signal },
    GithubGitCommit,
    (requestSignal) =>
      client.request("POST /repos/{owner}/{repo}/git/commits", {
        owner,
        repo,
        message: commit.message,
        tree: tree.sha,
        parents: [commit.parentSha],
        request: { signal: requestSignal },
      }),
  );
  if (commit.createBranch) {
    await send(
      runner,
      { operation, mutation: true, signal, conflictMessages: /reference already exists/i },
      GithubGitRef,
      (requestSignal) =>
        client.request("POST /repos/{owner}/{repo}/git/refs", {
          owner,
          repo,
          ref: `refs/${ref}`,
          sha: created.sha,
          request: { signal: requestSignal },
        }),
    );
  } else {
    // A race remains between the check above and this update, as the REST API has no
    // compare-and-swap on refs. A push landing in between is not an ancestor of our commit, so
    // GitHub answers 422 "Update is not a fast forward" (a conflict). Only a force-push that
    // moves the branch back to an ancestor of `parentSha` in that window would go unnoticed.
    // (GraphQL `createCommitOnBranch` with `expectedHeadOid` would close it.)
    await send(
      runner,
      { operation, mutation: true, signal, conflictMessages: /not a fast.?forward/i },
      GithubGitRef,
      (requestSignal) =>
        client.request("PATCH /repos/{owner}/{repo}/git/refs/{ref}", {
          owner,
          repo,
          ref,
          sha: created.sha,
          force: false,
          request: { signal: requestSignal },
        }),
    );
  }
  return { sha: created.sha };
}
