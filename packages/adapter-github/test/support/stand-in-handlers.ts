import type { Json, JsonObject, SpecOperation } from "./github-spec.js";
import type { ModelPull, RepoModel } from "./repo-model.js";

/** A request as a handler sees it: already checked against the spec. */
export interface StandInRequest {
  readonly operation: SpecOperation;
  readonly query: URLSearchParams;
  readonly body: Json | undefined;
}

/** What the stand-in answers. The body is checked against the spec before it is sent. */
export interface StandInResponse {
  readonly status: number;
  readonly body?: Json;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What handlers build answers from. */
export interface HandlerContext {
  readonly model: RepoModel;
  readonly owner: string;
  readonly repo: string;
  readonly apiUrl: string;
  /** The spec's own example of an operation's answer, to start an answer from. */
  example(operation: SpecOperation, status: number): JsonObject;
}

export type Handler = (request: StandInRequest, context: HandlerContext) => StandInResponse;

const docs = "https://docs.github.com/rest";
export const errorBody = (message: string): JsonObject => ({ message, documentation_url: docs });
const validationFailed = (message: string): StandInResponse => ({
  status: 422,
  body: { message, documentation_url: docs, errors: [{ resource: "Ref", code: "custom", message }] },
});
const notFound = (): StandInResponse => ({ status: 404, body: errorBody("Not Found") });

const objectBody = (request: StandInRequest): JsonObject =>
  request.body !== null && typeof request.body === "object" && !Array.isArray(request.body)
    ? request.body
    : {};
const text = (value: Json | undefined): string => (typeof value === "string" ? value : "");

function pullJson(pull: ModelPull, template: JsonObject, context: HandlerContext): JsonObject {
  const { model, owner, repo, apiUrl } = context;
  const headSha = model.refs.get(`heads/${pull.head}`) ?? "0".repeat(40);
  const baseSha = model.refs.get(`heads/${pull.base}`) ?? "0".repeat(40);
  const side = (key: string, ref: string, sha: string): JsonObject => ({
    ...(template[key] as JsonObject),
    label: `${owner}:${ref}`,
    ref,
    sha,
  });
  return {
    ...template,
    url: `${apiUrl}/repos/${owner}/${repo}/pulls/${pull.number}`,
    id: 1000 + pull.number,
    node_id: pull.nodeId,
    html_url: `https://github.com/${owner}/${repo}/pull/${pull.number}`,
    number: pull.number,
    state: pull.state,
    locked: false,
    title: pull.title,
    body: pull.body,
    draft: pull.draft,
    labels: pull.labels.map((name, index) => labelJson(name, index)),
    requested_teams: [],
    updated_at: pull.updatedAt,
    closed_at: pull.state === "closed" ? pull.updatedAt : null,
    merged_at: pull.mergedAt,
    merge_commit_sha: pull.mergeSha,
    head: side("head", pull.head, headSha),
    base: side("base", pull.base, baseSha),
    auto_merge: null,
    ...("merged" in template ? { merged: pull.mergedAt !== null } : {}),
  };
}

function labelJson(name: string, index: number): JsonObject {
  return {
    id: 200 + index,
    node_id: `LA_${index}`,
    url: `https://api.github.com/labels/${encodeURIComponent(name)}`,
    name,
    description: "",
    color: "663399",
    default: false,
  };
}

function pullOf(request: StandInRequest, context: HandlerContext, param = "pull_number") {
  return context.model.pulls.find((pull) => String(pull.number) === request.operation.params[param]);
}

function refJson(ref: string, sha: string, context: HandlerContext): JsonObject {
  const url = `${context.apiUrl}/repos/${context.owner}/${context.repo}/git/refs/${ref}`;
  return { ref: `refs/${ref}`, node_id: `REF_${ref}`, url, object: { type: "commit", sha, url } };
}

function commitJson(sha: string, template: JsonObject, context: HandlerContext): JsonObject {
  const commit = context.model.commits.get(sha);
  const base = `${context.apiUrl}/repos/${context.owner}/${context.repo}/git`;
  return {
    ...template,
    sha,
    node_id: `C_${sha.slice(0, 8)}`,
    url: `${base}/commits/${sha}`,
    html_url: `https://github.com/${context.owner}/${context.repo}/commit/${sha}`,
    message: commit?.message ?? "",
    tree: { sha: commit?.tree ?? "", url: `${base}/trees/${commit?.tree ?? ""}` },
    parents: (commit?.parents ?? []).map((parent) => ({
      sha: parent,
      url: `${base}/commits/${parent}`,
      html_url: `https://github.com/${context.owner}/${context.repo}/commit/${parent}`,
    })),
  };
}

/** Handlers by `operationId`: the slice of GitHub the forge speaks. */
export const handlers: Readonly<Record<string, Handler>> = {
  "pulls/create"(request, context) {
    const body = objectBody(request);
    const head = text(body.head);
    const base = text(body.base);
    if (!context.model.refs.has(`heads/${head}`) || !context.model.refs.has(`heads/${base}`)) {
      return validationFailed("Validation Failed: head or base branch does not exist");
    }
    if (head === base) return validationFailed(`No commits between ${base} and ${head}`);
    if (context.model.pulls.some((pull) => pull.head === head && pull.state === "open")) {
      return validationFailed(`A pull request already exists for ${context.owner}:${head}.`);
    }
    const pull = context.model.openPull(head, base, text(body.title), text(body.body), body.draft === true);
    return { status: 201, body: pullJson(pull, context.example(request.operation, 201), context) };
  },

  "pulls/list"(request, context) {
    const template = context.example(request.operation, 200);
    const head = request.query.get("head");
    const state = request.query.get("state") ?? "open";
    const pulls = context.model.pulls
      .filter((pull) => head === null || `${context.owner}:${pull.head}` === head)
      .filter((pull) => state === "all" || pull.state === state)
      .sort((left, right) => right.updatedAt.localeCompare(left.updatedAt));
    return { status: 200, body: pulls.map((pull) => pullJson(pull, template, context)) };
  },

  "pulls/get"(request, context) {
    const pull = pullOf(request, context);
    if (pull === undefined) return notFound();
    return { status: 200, body: pullJson(pull, context.example(request.operation, 200), context) };
  },

  "pulls/update"(request, context) {
    const pull = pullOf(request, context);
    if (pull === undefined) return notFound();
    const body = objectBody(request);
    if (typeof body.title === "string") pull.title = body.title;
    if (typeof body.body === "string") pull.body = body.body;
    pull.updatedAt = context.model.tick();
    return { status: 200, body: pullJson(pull, context.example(request.operation, 200), context) };
  },

  "pulls/merge"(request, context) {
    const pull = pullOf(request, context);
    if (pull === undefined) return notFound();
    if (pull.state !== "open") return { status: 405, body: errorBody("Pull Request is not mergeable") };
    const body = objectBody(request);
    const head = context.model.refs.get(`heads/${pull.head}`);
    if (typeof body.sha === "string" && body.sha !== head) {
      return { status: 409, body: errorBody("Head branch was modified. Review and try the merge again.") };
    }
    const sha = context.model.merge(pull, text(body.merge_method) || "merge");
    return { status: 200, body: { sha, merged: true, message: "Pull Request successfully merged" } };
  },

  "issues/add-labels"(request, context) {
    const pull = pullOf(request, context, "issue_number");
    if (pull === undefined) return notFound();
    const labels = objectBody(request).labels;
    for (const label of Array.isArray(labels) ? labels : []) {
      if (typeof label === "string" && !pull.labels.includes(label)) pull.labels.push(label);
    }
    return { status: 200, body: pull.labels.map((name, index) => labelJson(name, index)) };
  },

  "issues/create-comment"(request, context) {
    const pull = pullOf(request, context, "issue_number");
    if (pull === undefined) return notFound();
    const body = text(objectBody(request).body);
    pull.comments.push(body);
    return { status: 201, body: { ...context.example(request.operation, 201), body } };
  },

  "git/get-commit"(request, context) {
    const sha = request.operation.params.commit_sha ?? "";
    if (!context.model.commits.has(sha)) return notFound();
    return { status: 200, body: commitJson(sha, context.example(request.operation, 200), context) };
  },

  "git/create-tree"(request, context) {
    const body = objectBody(request);
    const baseSha = text(body.base_tree);
    const base = baseSha === "" ? new Map<string, string>() : context.model.trees.get(baseSha);
    if (base === undefined) return validationFailed("base_tree is not a valid tree");
    const entries = (Array.isArray(body.tree) ? body.tree : []).map((entry) => {
      const item = entry !== null && typeof entry === "object" && !Array.isArray(entry) ? entry : {};
      return {
        path: text(item.path),
        ...(typeof item.content === "string" ? { content: item.content } : {}),
        ...(item.sha === null || typeof item.sha === "string" ? { sha: item.sha } : {}),
      };
    });
    const sha = context.model.writeTree(base, entries);
    const url = `${context.apiUrl}/repos/${context.owner}/${context.repo}/git/trees/${sha}`;
    const tree = [...(context.model.trees.get(sha) ?? [])].map(([path, blob]) => ({
      path,
      mode: "100644",
      type: "blob",
      sha: blob,
      size: (context.model.blobs.get(blob) ?? "").length,
      url: `${context.apiUrl}/repos/${context.owner}/${context.repo}/git/blobs/${blob}`,
    }));
    return { status: 201, body: { sha, url, tree, truncated: false } };
  },

  "git/create-commit"(request, context) {
    const body = objectBody(request);
    const tree = text(body.tree);
    const parents = (Array.isArray(body.parents) ? body.parents : []).map(text);
    if (!context.model.trees.has(tree) || parents.some((parent) => !context.model.commits.has(parent))) {
      return validationFailed("Tree SHA or parent SHA does not exist");
    }
    const commit = context.model.writeCommit(tree, parents, text(body.message));
    return { status: 201, body: commitJson(commit.sha, context.example(request.operation, 201), context) };
  },

  "git/get-ref"(request, context) {
    const ref = request.operation.params.ref ?? "";
    const sha = context.model.refs.get(ref);
    return sha === undefined ? notFound() : { status: 200, body: refJson(ref, sha, context) };
  },

  "git/create-ref"(request, context) {
    const body = objectBody(request);
    const ref = text(body.ref).replace(/^refs\//, "");
    const sha = text(body.sha);
    if (context.model.refs.has(ref)) return validationFailed("Reference already exists");
    if (!context.model.commits.has(sha)) return validationFailed("Object does not exist");
    context.model.refs.set(ref, sha);
    return {
      status: 201,
      body: refJson(ref, sha, context),
      headers: { location: refJson(ref, sha, context).url as string },
    };
  },

  "git/update-ref"(request, context) {
    const ref = request.operation.params.ref ?? "";
    const body = objectBody(request);
    const sha = text(body.sha);
    const current = context.model.refs.get(ref);
    if (current === undefined) return validationFailed("Reference does not exist");
    if (!context.model.commits.has(sha)) return validationFailed("Object does not exist");
    if (body.force !== true && !context.model.isAncestor(current, sha)) {
      return validationFailed("Update is not a fast forward");
    }
    context.model.refs.set(ref, sha);
    return { status: 200, body: refJson(ref, sha, context) };
  },
};
