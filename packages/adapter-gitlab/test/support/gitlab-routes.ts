import type { GitLabContract } from "./gitlab-contract.js";

/** What a parameter must be. */
export type ParamType = "string" | "boolean" | "integer" | "sha" | "actions" | "labels";

/** One GitLab route the stand-in serves, and the parameters it accepts. */
export interface Route {
  readonly id: RouteId;
  readonly method: "GET" | "HEAD" | "POST" | "PUT";
  /** Path below `/api/v4`, `:name` for a segment that is one URL-encoded value. */
  readonly pattern: string;
  /** Where the route is specified: a section of gitlab-api.md, or else the GitLab doc named. */
  readonly source: { readonly section: string } | { readonly gitlabDoc: string };
  /** Query parameters accepted, with their types; `required` lists those that must be present. */
  readonly query: Readonly<Record<string, ParamType>>;
  /** JSON body attributes accepted (none: the route takes no body). */
  readonly body?: Readonly<Record<string, ParamType>>;
  readonly required: readonly string[];
  /** Query parameters whose values the contract enumerates (`` `state` (`opened|...`) ``) in this section. */
  readonly enumerated?: readonly string[];
  /** "Must include at least one non-required attribute" (contract, PUT MR). */
  readonly atLeastOne?: boolean;
}

export type RouteId =
  | "getBranch"
  | "getFile"
  | "headFile"
  | "createCommit"
  | "listMergeRequests"
  | "createMergeRequest"
  | "getMergeRequest"
  | "updateMergeRequest"
  | "mergeMergeRequest"
  | "createNote";

const createMr = "Create MR";
const updateMr = "Get / update MR";

/**
 * The routes, each citing where it is specified. Everything else is answered
 * `404 {"error":"404 Not Found"}` (contract, "Common rules") and fails the test.
 */
export const routes: readonly Route[] = [
  {
    // NOT in gitlab-api.md: GitLab docs doc/api/branches.md, "Get single repository branch".
    id: "getBranch",
    method: "GET",
    pattern: "/projects/:id/repository/branches/:branch",
    source: { gitlabDoc: "doc/api/branches.md#get-single-repository-branch" },
    query: {},
    required: [],
  },
  {
    id: "getFile",
    method: "GET",
    pattern: "/projects/:id/repository/files/:file_path",
    source: { section: "Get file" },
    query: { ref: "string" },
    required: ["ref"],
  },
  {
    // "`HEAD` method returns the same as `X-Gitlab-*` headers without body."
    id: "headFile",
    method: "HEAD",
    pattern: "/projects/:id/repository/files/:file_path",
    source: { section: "Get file" },
    query: { ref: "string" },
    required: ["ref"],
  },
  {
    id: "createCommit",
    method: "POST",
    pattern: "/projects/:id/repository/commits",
    source: { section: "Create commit with several file actions" },
    query: {},
    body: {
      branch: "string",
      commit_message: "string",
      actions: "actions",
      start_branch: "string",
      start_sha: "sha",
      start_project: "string",
      author_email: "string",
      author_name: "string",
      force: "boolean",
      stats: "boolean",
    },
    required: ["branch", "commit_message", "actions"],
  },
  {
    id: "listMergeRequests",
    method: "GET",
    pattern: "/projects/:id/merge_requests",
    source: { section: "List MRs" },
    query: {
      source_branch: "string",
      target_branch: "string",
      state: "string",
      labels: "string",
      order_by: "string",
      sort: "string",
      search: "string",
      page: "integer",
      per_page: "integer",
    },
    required: [],
    enumerated: ["state"],
  },
  {
    id: "createMergeRequest",
    method: "POST",
    pattern: "/projects/:id/merge_requests",
    source: { section: createMr },
    query: {},
    body: {
      title: "string",
      source_branch: "string",
      target_branch: "string",
      description: "string",
      labels: "labels",
      add_labels: "labels",
      remove_source_branch: "boolean",
      squash: "boolean",
    },
    required: ["title", "source_branch", "target_branch"],
  },
  {
    id: "getMergeRequest",
    method: "GET",
    pattern: "/projects/:id/merge_requests/:merge_request_iid",
    source: { section: updateMr },
    query: { render_html: "boolean", include_diverged_commits_count: "boolean" },
    required: [],
  },
  {
    id: "updateMergeRequest",
    method: "PUT",
    pattern: "/projects/:id/merge_requests/:merge_request_iid",
    source: { section: updateMr },
    query: {},
    body: {
      title: "string",
      target_branch: "string",
      state_event: "string",
      description: "string",
      labels: "labels",
      add_labels: "labels",
      remove_labels: "labels",
      squash: "boolean",
    },
    required: [],
    atLeastOne: true,
  },
  {
    id: "mergeMergeRequest",
    method: "PUT",
    pattern: "/projects/:id/merge_requests/:merge_request_iid/merge",
    source: { section: "Merge / auto-merge" },
    query: {},
    body: {
      merge_commit_message: "string",
      squash_commit_message: "string",
      should_remove_source_branch: "boolean",
      merge_when_pipeline_succeeds: "boolean",
      auto_merge: "boolean",
      sha: "sha",
      squash: "boolean",
    },
    required: [],
  },
  {
    // NOT in gitlab-api.md: GitLab docs doc/api/notes.md, "Create new merge request note"
    // (`body` required; `internal`, `created_at`, `merge_request_diff_head_sha` optional).
    id: "createNote",
    method: "POST",
    pattern: "/projects/:id/merge_requests/:merge_request_iid/notes",
    source: { gitlabDoc: "doc/api/notes.md#create-new-merge-request-note" },
    query: {},
    body: { body: "string", internal: "boolean" },
    required: ["body"],
  },
];

/**
 * Check the route table against gitlab-api.md: every attribute accepted is documented in the
 * route's section, and the required ones are those the section marks required. Returns the
 * problems found (none expected).
 */
export function routeTableProblems(contract: GitLabContract): string[] {
  const problems: string[] = [];
  for (const route of routes) {
    if (!("section" in route.source)) continue;
    const heading = route.source.section;
    const sectionText = contract.section(heading);
    if (!sectionText.includes(route.pattern) || !sectionText.includes(route.method)) {
      problems.push(`${route.id}: ${route.method} ${route.pattern} is not in section "${heading}"`);
    }
    for (const name of [...Object.keys(route.query), ...Object.keys(route.body ?? {})]) {
      if (!contract.documents(heading, name)) problems.push(`${route.id}: ${name} is not documented`);
    }
    const required = contract.requiredAttributes(heading);
    if ([...required].sort().join() !== [...route.required].sort().join()) {
      problems.push(
        `${route.id}: requires ${route.required.join()} but the contract says ${required.join()}`,
      );
    }
  }
  return problems;
}
