import { type ChangeRequest, ForgeError, type MergeOptions } from "@selfheal/core";
import type { GitLabMergeRequest } from "./gitlab-schemas.js";

/** The body of `PUT .../merge`: the reviewed head as `sha`, and `squash` when asked. */
export function mergeBody(operation: string, options: MergeOptions): Record<string, unknown> {
  const method = options.method ?? "merge";
  if (method === "rebase") {
    // The merge API cannot choose a rebase: GitLab's merge method is a project setting.
    throw new ForgeError(
      `GitLab ${operation}: method "rebase" is not available per request; set the project's merge method to fast-forward`,
      { adapter: "gitlab", operation, kind: "invalid" },
    );
  }
  return {
    ...(options.expectedHeadSha === undefined ? {} : { sha: options.expectedHeadSha }),
    ...(method === "squash" ? { squash: true } : {}),
  };
}

/** The neutral view of a GitLab merge request. */
export function toChangeRequest(mr: GitLabMergeRequest): ChangeRequest {
  const state = mr.state === "merged" ? "merged" : mr.state === "closed" ? "closed" : "open";
  // What landed on the target: the merge commit, else the squash commit, else (fast-forward)
  // the source head itself.
  const mergeSha = state === "merged" ? (mr.merge_commit_sha ?? mr.squash_commit_sha ?? mr.sha) : undefined;
  return {
    id: String(mr.iid),
    url: mr.web_url,
    state,
    branch: mr.source_branch,
    base: mr.target_branch,
    title: mr.title,
    labels: mr.labels,
    ...(mr.sha == null ? {} : { headSha: mr.sha }),
    ...(mergeSha == null ? {} : { mergeSha }),
  };
}

/** GitLab takes labels comma-separated, so a label cannot hold a comma. */
export function checkLabels(operation: string, labels: readonly string[]): readonly string[] {
  for (const label of labels) {
    if (label.trim() === "" || label.includes(",")) {
      throw new ForgeError(`GitLab ${operation}: label ${JSON.stringify(label)} is empty or holds a comma`, {
        adapter: "gitlab",
        operation,
        kind: "invalid",
      });
    }
  }
  return labels;
}
