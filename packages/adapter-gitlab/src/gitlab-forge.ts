import {
  type CallOptions,
  type ChangeRequest,
  ForgeError,
  type GitForge,
  type MergeOptions,
  type OpenChangeRequest,
} from "@selfheal/core";
import { Agent } from "undici";
import { gitLabClient } from "./gitlab-client.js";
import { commitFiles } from "./gitlab-commit-files.js";
import { type GitLabForgeSettings, resolveSettings } from "./gitlab-forge-settings.js";
import { checkLabels, mergeBody, toChangeRequest } from "./gitlab-merge-requests.js";
import { GitLabMergeRequest, GitLabMergeRequestList, GitLabNote } from "./gitlab-schemas.js";

/** A GitLab `GitForge` with API commits, and the connections it owns. */
export interface GitLabForge extends GitForge {
  /** Always `"gitlab"`: errors and the audit trail name it so. */
  readonly name: "gitlab";
  /** GitLab has merge requests. */
  readonly changeRequests: true;
  /** Commit through `POST /projects/:id/repository/commits`; never forces (see README). */
  commitFiles: NonNullable<GitForge["commitFiles"]>;
  /** Close the connections of the default dispatcher. An injected dispatcher is left open. */
  close(): Promise<void>;
}

/** GitLab titles a draft merge request with this prefix; the documented way to open a draft. */
const draftPrefix = "Draft: ";

/**
 * A `GitForge` for one GitLab project: merge requests (the MR `iid` is the change request id)
 * and commits through the commits API. Each call returns an independent forge: two GitLab hosts
 * in one process share nothing.
 */
export function gitlabForge(settings: GitLabForgeSettings): GitLabForge {
  const resolved = resolveSettings(settings);
  const ownsDispatcher = settings.dispatcher === undefined;
  const dispatcher = settings.dispatcher ?? new Agent({ keepAliveTimeout: 30_000 });
  let closing: Promise<void> | undefined;
  const call = gitLabClient({ ...resolved.client, dispatcher });
  const project = resolved.project;
  // `group/sub/project` → `group%2Fsub%2Fproject`, as `:id` must be (contract, "Common rules").
  const projectPath = `/projects/${encodeURIComponent(project)}`;
  const mrPath = (operation: string, id: string): string => {
    if (!/^[1-9][0-9]{0,15}$/.test(id)) {
      throw new ForgeError(`GitLab ${operation}: ${JSON.stringify(id)} is not a merge request iid`, {
        adapter: "gitlab",
        operation,
        kind: "invalid",
      });
    }
    return `${projectPath}/merge_requests/${id}`;
  };

  const getMergeRequest = async (operation: string, id: string, options: CallOptions) =>
    call({
      operation,
      method: "GET",
      path: mrPath(operation, id),
      schema: GitLabMergeRequest,
      retry: "idempotent",
      signal: options.signal,
    });

  const listBySourceBranch = async (
    branch: string,
    state: "opened" | "all",
    perPage: number,
    options: CallOptions,
  ) =>
    call({
      operation: "findByBranch",
      method: "GET",
      path: `${projectPath}/merge_requests`,
      query: {
        source_branch: branch,
        state,
        order_by: "created_at",
        sort: "desc",
        per_page: String(perPage),
      },
      schema: GitLabMergeRequestList,
      retry: "idempotent",
      signal: options.signal,
    });

  const findByBranch = async (branch: string, options: CallOptions): Promise<ChangeRequest | undefined> => {
    // One call for both cases: the newest open merge request, else the newest of any state.
    // A page of 100 (GitLab's maximum) holds every merge request a branch realistically has.
    const all = await listBySourceBranch(branch, "all", 100, options);
    const found = all.find((mr) => mr.state === "opened") ?? all[0];
    return found === undefined ? undefined : toChangeRequest(found);
  };

  const putMerge = async (
    operation: string,
    id: string,
    body: Record<string, unknown>,
    options: CallOptions,
  ) =>
    call({
      operation,
      method: "PUT",
      path: `${mrPath(operation, id)}/merge`,
      body,
      schema: GitLabMergeRequest,
      // Merging is not repeated after an unknown outcome: a second PUT would answer 405
      // (already merged) and hide the first's result. The caller re-reads with `get`.
      retry: "once",
      signal: options.signal,
    });

  return {
    name: "gitlab",
    changeRequests: true,

    async open(request: OpenChangeRequest, options: CallOptions): Promise<ChangeRequest> {
      if (request.branch === request.base) {
        throw new ForgeError(`GitLab open: source and target are both ${request.branch}`, {
          adapter: "gitlab",
          operation: "open",
          kind: "invalid",
        });
      }
      const labels = checkLabels("open", request.labels ?? []);
      const draft = request.draft === true && !/^(draft:|\[draft\]|\(draft\))/i.test(request.title);
      try {
        const created = await call({
          operation: "open",
          method: "POST",
          path: `${projectPath}/merge_requests`,
          body: {
            source_branch: request.branch,
            target_branch: request.base,
            title: draft ? `${draftPrefix}${request.title}` : request.title,
            description: request.body,
            ...(labels.length === 0 ? {} : { labels: labels.join(",") }),
          },
          schema: GitLabMergeRequest,
          // Safe to repeat: GitLab allows one open MR per source and target branch and answers a
          // second create with 409, which is resolved below to the MR the first attempt opened.
          retry: "idempotent",
          signal: options.signal,
        });
        return toChangeRequest(created);
      } catch (error) {
        if (!(error instanceof ForgeError && error.kind === "conflict")) throw error;
        const existing = (await listBySourceBranch(request.branch, "opened", 1, options))[0];
        if (existing === undefined || existing.target_branch !== request.base) throw error;
        return toChangeRequest(existing);
      }
    },

    findByBranch,

    async get(id: string, options: CallOptions): Promise<ChangeRequest> {
      return toChangeRequest(await getMergeRequest("get", id, options));
    },

    async update(id, changes, options): Promise<ChangeRequest> {
      if (changes.title === undefined && changes.body === undefined) {
        return toChangeRequest(await getMergeRequest("update", id, options));
      }
      const updated = await call({
        operation: "update",
        method: "PUT",
        path: mrPath("update", id),
        body: {
          ...(changes.title === undefined ? {} : { title: changes.title }),
          ...(changes.body === undefined ? {} : { description: changes.body }),
        },
        schema: GitLabMergeRequest,
        retry: "idempotent",
        signal: options.signal,
      });
      return toChangeRequest(updated);
    },

    async comment(id: string, body: string, options: CallOptions): Promise<void> {
      await call({
        operation: "comment",
        method: "POST",
        path: `${mrPath("comment", id)}/notes`,
        body: { body },
        schema: GitLabNote,
        // A note posted twice is noise in the MR: not repeated after an unknown outcome.
        retry: "once",
        signal: options.signal,
      });
    },

    async label(id: string, labels: readonly string[], options: CallOptions): Promise<void> {
      const checked = checkLabels("label", labels);
      const path = mrPath("label", id);
      if (checked.length === 0) return;
      await call({
        operation: "label",
        method: "PUT",
        path,
        // `add_labels` keeps the labels already there and creates missing project labels.
        body: { add_labels: checked.join(",") },
        schema: GitLabMergeRequest,
        retry: "idempotent",
        signal: options.signal,
      });
    },

    async merge(id: string, options: MergeOptions): Promise<ChangeRequest> {
      const merged = await putMerge("merge", id, mergeBody("merge", options), options);
      return toChangeRequest(merged);
    },

    async enableAutoMerge(id: string, options: MergeOptions): Promise<void> {
      // `auto_merge` is current; instances older than it ignore it and read the deprecated
      // `merge_when_pipeline_succeeds` instead (contract, "Merge / auto-merge"): send both.
      const body = {
        ...mergeBody("enableAutoMerge", options),
        auto_merge: true,
        merge_when_pipeline_succeeds: true,
      };
      const answer = await putMerge("enableAutoMerge", id, body, options);
      if (answer.state !== "merged" && answer.merge_when_pipeline_succeeds !== true) {
        throw new ForgeError(`GitLab enableAutoMerge: merge request !${id} was not set to auto-merge`, {
          adapter: "gitlab",
          operation: "enableAutoMerge",
          kind: "conflict",
        });
      }
    },

    commitFiles: (commit, options) => commitFiles(call, projectPath, commit, options),

    async close(): Promise<void> {
      if (!ownsDispatcher) return;
      closing ??= dispatcher.close();
      await closing;
    },
  };
}
