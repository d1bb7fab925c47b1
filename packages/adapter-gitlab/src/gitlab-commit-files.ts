import { type ApiCommit, type CallOptions, ForgeError } from "@selfheal/core";
import type { GitLabClient } from "./gitlab-client.js";
import { GitLabBranch, GitLabCommit, GitLabFileHeaders } from "./gitlab-schemas.js";

/** One item of the commits API's `actions[]`. */
interface CommitAction {
  readonly action: "create" | "update";
  readonly file_path: string;
  readonly content: string;
  readonly last_commit_id?: string;
}

/**
 * Commit `commit.files` with `POST /projects/:id/repository/commits`, never forcing.
 *
 * - New branch: `start_sha` is the parent, and GitLab refuses if the branch already exists.
 * - Existing branch: its head must be `parentSha` (`GET /repository/branches/:branch`), else
 *   `conflict` and nothing is written.
 * - Each file is `create` if it is absent at `parentSha`, else `update`, on an existing branch
 *   with `last_commit_id` as of `parentSha`: GitLab itself then refuses (400, mapped to
 *   `conflict`) a file changed after `parentSha`, and a `create` of a file that appeared
 *   meanwhile ("already exists"). Nothing is overwritten blindly.
 *
 * What remains: the commits API has no "expected head" precondition for an existing branch
 * (`start_sha` there only works with `force`, which we never send). If someone pushes a commit
 * that touches none of our files between the head check and the POST, our commit lands on top
 * of theirs instead of being refused. The window is one round trip, and our files are still
 * guarded by `last_commit_id`; the new commit's `parent_ids` tell the caller it happened, and
 * the error then says so (the commit exists: it is reported, not undone).
 */
export async function commitFiles(
  call: GitLabClient,
  projectPath: string,
  commit: ApiCommit,
  options: CallOptions,
): Promise<{ readonly sha: string }> {
  checkCommit(commit);
  const operation = "commitFiles";
  if (!commit.createBranch) {
    const branch = await call({
      operation,
      method: "GET",
      path: `${projectPath}/repository/branches/${encodeURIComponent(commit.branch)}`,
      schema: GitLabBranch,
      retry: "idempotent",
      signal: options.signal,
    });
    if (branch.commit.id !== commit.parentSha) {
      throw new ForgeError(
        `GitLab commitFiles: branch ${commit.branch} is at ${branch.commit.id}, not at the expected ${commit.parentSha}; nothing was committed`,
        { adapter: "gitlab", operation, kind: "conflict" },
      );
    }
  }
  const actions = await Promise.all(
    commit.files.map(async (file): Promise<CommitAction> => {
      const lastCommitId = await lastCommitOf(call, projectPath, file.path, commit.parentSha, options);
      if (lastCommitId === undefined)
        return { action: "create", file_path: file.path, content: file.content };
      // A new branch starts at `parentSha`, which cannot change: there is nothing to lock.
      return commit.createBranch
        ? { action: "update", file_path: file.path, content: file.content }
        : { action: "update", file_path: file.path, content: file.content, last_commit_id: lastCommitId };
    }),
  );
  const created = await call({
    operation,
    method: "POST",
    path: `${projectPath}/repository/commits`,
    body: {
      branch: commit.branch,
      commit_message: commit.message,
      actions,
      ...(commit.createBranch ? { start_sha: commit.parentSha } : {}),
    },
    schema: GitLabCommit,
    retry: "once",
    signal: options.signal,
  });
  const parent = created.parent_ids?.[0];
  if (parent !== undefined && parent !== commit.parentSha) {
    throw new ForgeError(
      `GitLab commitFiles: ${created.id} was committed on ${commit.branch} on top of ${parent}, not ${commit.parentSha}: the branch moved during the commit`,
      { adapter: "gitlab", operation, kind: "conflict" },
    );
  }
  return { sha: created.id };
}

/** The last commit that changed `path` as of `ref`, or `undefined` when the file is absent there. */
async function lastCommitOf(
  call: GitLabClient,
  projectPath: string,
  path: string,
  ref: string,
  options: CallOptions,
): Promise<string | undefined> {
  try {
    const file = await call({
      operation: "commitFiles",
      // HEAD: the same `X-Gitlab-*` answer as GET without the file's content, which we do not need.
      method: "HEAD",
      path: `${projectPath}/repository/files/${encodeURIComponent(path)}`,
      query: { ref },
      schema: GitLabFileHeaders,
      retry: "idempotent",
      signal: options.signal,
    });
    return file["x-gitlab-last-commit-id"];
  } catch (error) {
    if (error instanceof ForgeError && error.kind === "not_found") return undefined;
    throw error;
  }
}

function checkCommit(commit: ApiCommit): void {
  const invalid = (why: string) =>
    new ForgeError(`GitLab commitFiles: ${why}`, {
      adapter: "gitlab",
      operation: "commitFiles",
      kind: "invalid",
    });
  if (commit.branch.trim() === "") throw invalid("branch is empty");
  if (!/^[0-9a-f]{40}$/.test(commit.parentSha))
    throw invalid(`parentSha ${commit.parentSha} is not a commit SHA`);
  if (commit.files.length === 0) throw invalid("no files to commit");
  const seen = new Set<string>();
  for (const file of commit.files) {
    if (file.path === "" || file.path.startsWith("/") || file.path.split("/").includes("..")) {
      throw invalid(`bad file path ${JSON.stringify(file.path)}`);
    }
    if (seen.has(file.path)) throw invalid(`file ${file.path} is listed twice`);
    seen.add(file.path);
  }
}
