import { z } from "zod";

/** A commit SHA as GitLab returns it. */
const Sha = z.string().regex(/^[0-9a-f]{40}$/);

/**
 * The fields of a GitLab merge request we read (`API_Entities_MergeRequest` and
 * `MergeRequestBasic` in the contract). The OpenAPI file types many of them as strings, so only
 * what GitLab really returns is declared.
 */
export const GitLabMergeRequest = z.object({
  iid: z.number().int(),
  web_url: z.string(),
  state: z.enum(["opened", "closed", "locked", "merged"]),
  title: z.string(),
  source_branch: z.string(),
  target_branch: z.string(),
  labels: z.array(z.string()),
  sha: Sha.nullish(),
  merge_commit_sha: Sha.nullish(),
  squash_commit_sha: Sha.nullish(),
  merge_when_pipeline_succeeds: z.boolean().nullish(),
});
export type GitLabMergeRequest = z.infer<typeof GitLabMergeRequest>;

/** `GET /projects/:id/merge_requests`. */
export const GitLabMergeRequestList = z.array(GitLabMergeRequest);

/** A created note: only that it was created (`id`) is read. */
export const GitLabNote = z.object({ id: z.number().int() });

/** A branch: its head commit. */
export const GitLabBranch = z.object({ commit: z.object({ id: Sha }) });

/** A file's `HEAD` headers: the last commit that changed it, our optimistic lock. */
export const GitLabFileHeaders = z.object({ "x-gitlab-last-commit-id": Sha });

/** A created commit. */
export const GitLabCommit = z.object({ id: Sha, parent_ids: z.array(Sha).optional() });
