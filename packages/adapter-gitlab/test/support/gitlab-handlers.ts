import type { GitLabModel, StoredCommit, StoredMergeRequest } from "./gitlab-model.js";
import type { RouteId } from "./gitlab-routes.js";

/** What a handler answers. */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Answer only after this long (a slow GitLab). */
  readonly delayMs?: number;
}

/** A matched, validated request. */
export interface HandlerRequest {
  /** Path parameters, decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: Readonly<Record<string, unknown>>;
}

/** Project identity used in entities. */
export interface ProjectInfo {
  readonly id: number;
  readonly path: string;
  readonly webUrl: string;
}

const json = (status: number, body: unknown): Reply => ({ status, body });
const labelList = (value: unknown): string[] =>
  (Array.isArray(value) ? value.map(String) : String(value ?? "").split(","))
    .map((label) => label.trim())
    .filter((label) => label !== "");

/** The GitLab behaviour of each route, on the in-memory model. */
export function gitLabHandlers(
  model: GitLabModel,
  project: ProjectInfo,
): Record<RouteId, (request: HandlerRequest) => Reply> {
  const findMr = (iid: string) => model.mergeRequests.find((mr) => String(mr.iid) === iid);
  const mrNotFound = json(404, { message: "404 Not found" });
  const resolve = (ref: string) => model.branches.get(ref) ?? (model.commits.has(ref) ? ref : undefined);
  const fileAt = (params: HandlerRequest["params"], query: URLSearchParams) => {
    const ref = query.get("ref") ?? "";
    const path = params.file_path ?? "";
    const at = resolve(ref);
    if (at === undefined) return { missing: json(404, { message: "404 Commit Not Found" }) } as const;
    const file = model.commits.get(at)?.files.get(path);
    if (file === undefined) return { missing: json(404, { message: "404 File Not Found" }) } as const;
    return { path, ref, at, file } as const;
  };

  return {
    getBranch({ params }) {
      const head = model.branches.get(params.branch ?? "");
      const commit = head === undefined ? undefined : model.commits.get(head);
      if (commit === undefined) return json(404, { message: "404 Branch Not Found" });
      return json(200, branchEntity(params.branch ?? "", commit, project));
    },

    getFile({ params, query }) {
      const found = fileAt(params, query);
      if ("missing" in found) return found.missing;
      const { path, ref, at, file } = found;
      return json(200, {
        file_name: path.split("/").pop(),
        file_path: path,
        size: Buffer.byteLength(file.content),
        encoding: "base64",
        content: Buffer.from(file.content).toString("base64"),
        content_sha256: "0".repeat(64),
        ref,
        blob_id: "1".repeat(40),
        commit_id: at,
        last_commit_id: file.lastCommitId,
        execute_filemode: false,
      });
    },

    // The same as getFile, as `X-Gitlab-*` headers without a body (contract, "Get file").
    headFile({ params, query }) {
      const found = fileAt(params, query);
      if ("missing" in found) return found.missing;
      const { path, ref, at, file } = found;
      return {
        status: 200,
        body: "",
        headers: {
          "x-gitlab-file-name": path.split("/").pop() ?? path,
          "x-gitlab-file-path": path,
          "x-gitlab-size": String(Buffer.byteLength(file.content)),
          "x-gitlab-encoding": "base64",
          "x-gitlab-content-sha256": "0".repeat(64),
          "x-gitlab-ref": ref,
          "x-gitlab-blob-id": "1".repeat(40),
          "x-gitlab-commit-id": at,
          "x-gitlab-last-commit-id": file.lastCommitId,
          "x-gitlab-execute-filemode": "false",
        },
      };
    },

    createCommit({ body }) {
      const branch = String(body.branch);
      const startSha = body.start_sha === undefined ? undefined : String(body.start_sha);
      if (body.force === true) return json(400, { message: "stand-in: force is never expected" });
      let base: string | undefined;
      if (startSha !== undefined) {
        if (model.branches.has(branch)) {
          return json(400, {
            message: `A branch called '${branch}' already exists. Switch to that branch in order to make changes`,
          });
        }
        base = model.commits.has(startSha) ? startSha : undefined;
        if (base === undefined) return json(400, { message: `Invalid start_sha` });
      } else {
        base = model.branches.get(branch);
        if (base === undefined)
          return json(400, { message: "You can only create or edit files when you are on a branch" });
      }
      const files = model.commits.get(base)?.files ?? new Map();
      const changes: Record<string, string> = {};
      for (const item of body.actions as Record<string, unknown>[]) {
        const path = String(item.file_path);
        const current = files.get(path);
        if (item.action === "create" && current !== undefined) {
          return json(400, { message: "A file with this name already exists" });
        }
        if (item.action !== "create" && current === undefined) {
          return json(400, { message: "A file with this name doesn't exist" });
        }
        if (item.last_commit_id !== undefined && item.last_commit_id !== current?.lastCommitId) {
          return json(400, { message: `The file has changed since you started editing it: ${path}` });
        }
        if (item.action !== "create" && item.action !== "update") {
          return json(400, { message: `stand-in: action ${String(item.action)} is never expected` });
        }
        changes[path] = String(item.content);
      }
      const id = model.commit(base, changes, String(body.commit_message));
      model.branches.set(branch, id);
      const commit = model.commits.get(id) as StoredCommit;
      return json(201, {
        ...commitEntity(commit, project),
        stats: { additions: 1, deletions: 0, total: 1 },
        status: null,
      });
    },

    listMergeRequests({ query }) {
      const state = query.get("state") ?? "all";
      const source = query.get("source_branch");
      const target = query.get("target_branch");
      const perPage = Number(query.get("per_page") ?? 20);
      const page = Number(query.get("page") ?? 1);
      if (perPage > 100 || perPage < 1) return json(400, { error: "per_page does not have a valid value" });
      const asc = query.get("sort") === "asc";
      const found = model.mergeRequests
        .filter(
          (mr) => (state === "all" || mr.state === state) && (source === null || mr.sourceBranch === source),
        )
        .filter((mr) => target === null || mr.targetBranch === target)
        .sort((a, b) => (asc ? a.createdAt - b.createdAt : b.createdAt - a.createdAt));
      const slice = found.slice((page - 1) * perPage, page * perPage);
      return {
        status: 200,
        body: slice.map((mr) => mrEntity(mr, model, project)),
        headers: { "x-total": String(found.length), "x-page": String(page), "x-per-page": String(perPage) },
      };
    },

    createMergeRequest({ body }) {
      const source = String(body.source_branch);
      const target = String(body.target_branch);
      if (source === target) {
        return json(400, { message: ["You can't use same project/branch for source and target"] });
      }
      if (!model.branches.has(source)) return json(400, { message: { source_branch: ["does not exist"] } });
      if (!model.branches.has(target)) return json(400, { message: { target_branch: ["does not exist"] } });
      const open = model.mergeRequests.find(
        (mr) => mr.state === "opened" && mr.sourceBranch === source && mr.targetBranch === target,
      );
      if (open !== undefined) {
        return json(409, {
          message: [`Another open merge request already exists for this source branch: !${open.iid}`],
        });
      }
      const iid = model.mergeRequests.length + 1;
      const mr: StoredMergeRequest = {
        iid,
        id: 1000 + iid,
        title: String(body.title),
        description: body.description === undefined ? "" : String(body.description),
        state: "opened",
        sourceBranch: source,
        targetBranch: target,
        labels: labelList(body.labels),
        mergeWhenPipelineSucceeds: false,
        mergeCommitSha: null,
        squashCommitSha: null,
        mergedAt: null,
        createdAt: iid,
        notes: [],
      };
      model.mergeRequests.push(mr);
      return json(201, mrEntity(mr, model, project));
    },

    getMergeRequest({ params }) {
      const mr = findMr(params.merge_request_iid ?? "");
      return mr === undefined ? mrNotFound : json(200, mrEntity(mr, model, project));
    },

    updateMergeRequest({ params, body }) {
      const mr = findMr(params.merge_request_iid ?? "");
      if (mr === undefined) return mrNotFound;
      if (typeof body.title === "string") mr.title = body.title;
      if (typeof body.description === "string") mr.description = body.description;
      if (body.labels !== undefined) mr.labels = labelList(body.labels);
      for (const label of labelList(body.add_labels)) if (!mr.labels.includes(label)) mr.labels.push(label);
      const removed = new Set(labelList(body.remove_labels));
      mr.labels = mr.labels.filter((label) => !removed.has(label));
      return json(200, mrEntity(mr, model, project));
    },

    mergeMergeRequest({ params, body }) {
      const mr = findMr(params.merge_request_iid ?? "");
      if (mr === undefined) return mrNotFound;
      // Failure table of the contract ("Merge / auto-merge").
      if (mr.state !== "opened" || mr.title.startsWith("Draft:"))
        return json(405, { message: "405 Method Not Allowed" });
      const head = model.branches.get(mr.sourceBranch);
      if (body.sha !== undefined && body.sha !== head) {
        return json(409, { message: "SHA does not match HEAD of source branch" });
      }
      if (body.auto_merge === true || body.merge_when_pipeline_succeeds === true) {
        mr.mergeWhenPipelineSucceeds = true;
      } else {
        model.merge(mr, body.squash === true);
      }
      return json(200, mrEntity(mr, model, project));
    },

    createNote({ params, body }) {
      const mr = findMr(params.merge_request_iid ?? "");
      if (mr === undefined) return mrNotFound;
      mr.notes.push(String(body.body));
      return json(201, { id: 5000 + mr.notes.length, body: body.body, noteable_iid: mr.iid, system: false });
    },
  };
}

function commitEntity(commit: StoredCommit, project: ProjectInfo) {
  const title = commit.message.split("\n")[0] ?? "";
  return {
    id: commit.id,
    short_id: commit.id.slice(0, 8),
    title,
    message: commit.message,
    author_name: "selfheal",
    author_email: "selfheal@example.com",
    authored_date: commit.createdAt,
    committer_name: "selfheal",
    committer_email: "selfheal@example.com",
    committed_date: commit.createdAt,
    created_at: commit.createdAt,
    parent_ids: commit.parentIds,
    trailers: {},
    extended_trailers: {},
    web_url: `${project.webUrl}/-/commit/${commit.id}`,
  };
}

export function branchEntity(name: string, commit: StoredCommit, project: ProjectInfo) {
  return {
    name,
    merged: false,
    protected: name === "main",
    default: name === "main",
    developers_can_push: false,
    developers_can_merge: false,
    can_push: true,
    web_url: `${project.webUrl}/-/tree/${encodeURIComponent(name)}`,
    commit: commitEntity(commit, project),
  };
}

export function mrEntity(mr: StoredMergeRequest, model: GitLabModel, project: ProjectInfo) {
  const sha = model.branches.get(mr.sourceBranch) ?? null;
  const base = model.branches.get(mr.targetBranch) ?? null;
  const draft = /^draft:/i.test(mr.title);
  return {
    id: mr.id,
    iid: mr.iid,
    project_id: project.id,
    title: mr.title,
    description: mr.description,
    state: mr.state,
    source_branch: mr.sourceBranch,
    target_branch: mr.targetBranch,
    sha,
    merge_commit_sha: mr.mergeCommitSha,
    squash_commit_sha: mr.squashCommitSha,
    labels: mr.labels,
    draft,
    merge_when_pipeline_succeeds: mr.mergeWhenPipelineSucceeds,
    merge_status: mr.state === "opened" ? "can_be_merged" : "merged",
    detailed_merge_status: mr.state === "opened" ? (draft ? "draft_status" : "mergeable") : "not_open",
    has_conflicts: false,
    merge_error: null,
    merged_at: mr.mergedAt,
    merge_user: mr.state === "merged" ? { id: 1, username: "selfheal" } : null,
    pipeline: null,
    head_pipeline: null,
    diff_refs: { base_sha: base, head_sha: sha, start_sha: base },
    web_url: `${project.webUrl}/-/merge_requests/${mr.iid}`,
    references: { short: `!${mr.iid}`, relative: `!${mr.iid}`, full: `${project.path}!${mr.iid}` },
    prepared_at: "2026-01-01T00:00:00.000Z",
    user: { can_merge: true },
  };
}
