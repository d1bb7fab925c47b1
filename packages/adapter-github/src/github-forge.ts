import {
  type ChangeRequest,
  ForgeError,
  type GitForge,
  type MergeOptions,
  type OpenChangeRequest,
} from "@selfheal/core";
import { commitFiles } from "./commit-files.js";
import { type GithubForgeSettings, resolveGithubForgeSettings } from "./github-forge-settings.js";
import {
  GithubAutoMergeResult,
  GithubLabelList,
  GithubMergeResult,
  GithubPullRequest,
  GithubPullRequestList,
} from "./github-schemas.js";
import { createRequestRunner, send } from "./request-runner.js";

const enableAutoMergeMutation = `mutation SelfhealEnableAutoMerge($pullRequestId: ID!, $mergeMethod: PullRequestMergeMethod!, $expectedHeadOid: GitObjectID) {
  enablePullRequestAutoMerge(input: { pullRequestId: $pullRequestId, mergeMethod: $mergeMethod, expectedHeadOid: $expectedHeadOid }) {
    pullRequest { number }
  }
}`;

/**
 * A `GitForge` for one GitHub repository: pull requests, labels, comments, merge, auto-merge,
 * and commits through the Git Data API with no clone.
 *
 * Rate limits are honoured (a rate-limited or failed request is retried after the advised
 * delay, at most `maxAttempts` tries), and mutations are sent one at a time, at least
 * `minMutationIntervalMs` apart, as GitHub asks. Failures throw a `ForgeError`.
 */
export function githubForge(settings: GithubForgeSettings): GitForge {
  const config = resolveGithubForgeSettings(settings);
  const { client, owner, repo } = config;
  const runner = createRequestRunner(config);

  const pullNumber = (id: string, operation: string): number => {
    if (!/^[1-9]\d{0,9}$/.test(id)) {
      throw new ForgeError(`GitHub ${operation}: "${id}" is not a pull request number`, {
        kind: "invalid",
        adapter: "github",
        operation,
      });
    }
    return Number(id);
  };

  const getPull = (id: string, signal: AbortSignal, operation = "getPullRequest") => {
    const pull_number = pullNumber(id, operation);
    return send(runner, { operation, mutation: false, signal }, GithubPullRequest, (requestSignal) =>
      client.request("GET /repos/{owner}/{repo}/pulls/{pull_number}", {
        owner,
        repo,
        pull_number,
        request: { signal: requestSignal },
      }),
    );
  };

  return {
    name: "github",
    changeRequests: true,

    async open(request: OpenChangeRequest, { signal }) {
      const operation = "openPullRequest";
      if (request.branch === request.base) {
        throw new ForgeError(`GitHub ${operation}: branch and base are both ${request.base}`, {
          kind: "invalid",
          adapter: "github",
          operation,
        });
      }
      const opened = await send(
        runner,
        { operation, mutation: true, signal, conflictMessages: /already exists/i },
        GithubPullRequest,
        (requestSignal) =>
          client.request("POST /repos/{owner}/{repo}/pulls", {
            owner,
            repo,
            title: request.title,
            head: request.branch,
            base: request.base,
            body: request.body,
            draft: request.draft ?? false,
            request: { signal: requestSignal },
          }),
      );
      const pull = toChangeRequest(opened);
      if (request.labels === undefined || request.labels.length === 0) return pull;
      const labels = await addLabels(opened.number, request.labels, signal);
      return { ...pull, labels };
    },

    async findByBranch(branch, { signal }) {
      const operation = "findPullRequestByBranch";
      const pulls = await send(
        runner,
        { operation, mutation: false, signal },
        GithubPullRequestList,
        (requestSignal) =>
          client.request("GET /repos/{owner}/{repo}/pulls", {
            owner,
            repo,
            head: `${owner}:${branch}`,
            state: "all",
            sort: "updated",
            direction: "desc",
            per_page: 100,
            request: { signal: requestSignal },
          }),
      );
      // GitHub filters by head already; checking again guards against a proxy or a fork that
      // ignores the filter, which would hand us someone else's pull request.
      const own = pulls.filter((pull) => pull.head.ref === branch);
      // The list is already newest-updated first, so the first is the most recent.
      const chosen = own.find((pull) => pull.state === "open") ?? own[0];
      return chosen === undefined ? undefined : toChangeRequest(chosen);
    },

    async get(id, { signal }) {
      return toChangeRequest(await getPull(id, signal));
    },

    async update(id, changes, { signal }) {
      const operation = "updatePullRequest";
      const pull_number = pullNumber(id, operation);
      const updated = await send(
        runner,
        { operation, mutation: true, signal },
        GithubPullRequest,
        (requestSignal) =>
          client.request("PATCH /repos/{owner}/{repo}/pulls/{pull_number}", {
            owner,
            repo,
            pull_number,
            ...(changes.title === undefined ? {} : { title: changes.title }),
            ...(changes.body === undefined ? {} : { body: changes.body }),
            request: { signal: requestSignal },
          }),
      );
      return toChangeRequest(updated);
    },

    async comment(id, body, { signal }) {
      const operation = "commentPullRequest";
      const issue_number = pullNumber(id, operation);
      await runner.run({ operation, mutation: true, signal }, async (requestSignal) => {
        // Pull requests are issues: their conversation comments live on the issues endpoint.
        await client.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
          owner,
          repo,
          issue_number,
          body,
          request: { signal: requestSignal },
        });
      });
    },

    async label(id, labels, { signal }) {
      const issue_number = pullNumber(id, "labelPullRequest");
      if (labels.length > 0) await addLabels(issue_number, labels, signal);
    },

    async merge(id, options: MergeOptions) {
      const operation = "mergePullRequest";
      const pull_number = pullNumber(id, operation);
      const result = await send(
        runner,
        // 405: not mergeable (checks, conflicts, already merged); 409: head is not `sha`.
        { operation, mutation: true, signal: options.signal, conflictStatuses: [405, 409] },
        GithubMergeResult,
        (requestSignal) =>
          client.request("PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge", {
            owner,
            repo,
            pull_number,
            merge_method: options.method ?? "merge",
            ...(options.expectedHeadSha === undefined ? {} : { sha: options.expectedHeadSha }),
            request: { signal: requestSignal },
          }),
      );
      const merged = toChangeRequest(await getPull(id, options.signal, operation));
      // Replicas may lag just after the merge: trust the merge answer for what landed.
      return { ...merged, state: "merged", mergeSha: merged.mergeSha ?? result.sha };
    },

    async enableAutoMerge(id, options: MergeOptions) {
      const operation = "enableAutoMerge";
      // Needs "Allow auto-merge" in the repository settings and a base branch with required
      // checks; GitHub refuses otherwise (a ForgeError of kind `invalid`).
      const pull = await getPull(id, options.signal, operation);
      await send(
        runner,
        { operation, mutation: true, signal: options.signal },
        GithubAutoMergeResult,
        async (requestSignal) => ({
          data: await client.graphql(enableAutoMergeMutation, {
            pullRequestId: pull.node_id,
            mergeMethod: (options.method ?? "merge").toUpperCase(),
            expectedHeadOid: options.expectedHeadSha ?? null,
            request: { signal: requestSignal },
          }),
        }),
      );
    },

    commitFiles(commit, { signal }) {
      return commitFiles({ client, runner, owner, repo }, commit, signal);
    },
  };

  async function addLabels(issue_number: number, labels: readonly string[], signal: AbortSignal) {
    const operation = "labelPullRequest";
    const added = await send(
      runner,
      { operation, mutation: true, signal },
      GithubLabelList,
      (requestSignal) =>
        client.request("POST /repos/{owner}/{repo}/issues/{issue_number}/labels", {
          owner,
          repo,
          issue_number,
          labels: [...labels],
          request: { signal: requestSignal },
        }),
    );
    return added.map((label) => label.name);
  }
}

function toChangeRequest(pull: GithubPullRequest): ChangeRequest {
  const merged = pull.merged_at !== null && pull.merged_at !== undefined;
  return {
    id: String(pull.number),
    url: pull.html_url,
    state: merged ? "merged" : pull.state,
    branch: pull.head.ref,
    base: pull.base.ref,
    title: pull.title,
    labels: pull.labels.map((label) => label.name),
    headSha: pull.head.sha,
    // Before the merge, `merge_commit_sha` is GitHub's test merge, not something that landed.
    ...(merged && typeof pull.merge_commit_sha === "string" ? { mergeSha: pull.merge_commit_sha } : {}),
  };
}
