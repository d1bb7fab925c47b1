import { ForgeError } from "@selfheal/core";
import { z } from "zod";

/** A pull request (`pull-request` and `pull-request-simple` in GitHub's spec): the fields we read. */
export const GithubPullRequest = z.object({
  number: z.number().int(),
  node_id: z.string(),
  html_url: z.string(),
  state: z.enum(["open", "closed"]),
  title: z.string(),
  merged_at: z.string().nullish(),
  merge_commit_sha: z.string().nullish(),
  head: z.object({ ref: z.string(), sha: z.string() }),
  base: z.object({ ref: z.string() }),
  labels: z.array(z.object({ name: z.string() })),
});
export type GithubPullRequest = z.infer<typeof GithubPullRequest>;

export const GithubPullRequestList = z.array(GithubPullRequest);

/** `PUT /pulls/{n}/merge` 200 (`pull-request-merge-result`). */
export const GithubMergeResult = z.object({ sha: z.string(), merged: z.boolean() });

/** A label as `POST /issues/{n}/labels` returns them. */
export const GithubLabelList = z.array(z.object({ name: z.string() }));

/** A git reference (`git-ref`). */
export const GithubGitRef = z.object({ ref: z.string(), object: z.object({ sha: z.string() }) });

/** A git commit (`git-commit`). */
export const GithubGitCommit = z.object({ sha: z.string(), tree: z.object({ sha: z.string() }) });

/** A git tree (`git-tree`). */
export const GithubGitTree = z.object({ sha: z.string() });

/** The GraphQL answer of `enablePullRequestAutoMerge`. */
export const GithubAutoMergeResult = z.object({
  enablePullRequestAutoMerge: z
    .object({ pullRequest: z.object({ number: z.number().int() }).nullable() })
    .nullable(),
});

/**
 * Parse what GitHub answered with `schema`. An answer of another shape is a `ForgeError` of
 * kind `unavailable` that is not retryable: GitHub (or a proxy) did not speak its API.
 */
export function parseResponse<T>(schema: z.ZodType<T>, data: unknown, operation: string): T {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue === undefined ? "" : ` at ${issue.path.join(".") || "(root)"}: ${issue.message}`;
  throw new ForgeError(`GitHub ${operation} answered an unexpected shape${where}`, {
    kind: "unavailable",
    retryable: false,
    adapter: "github",
    operation,
    cause: parsed.error,
  });
}
