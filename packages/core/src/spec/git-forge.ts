import type { CallOptions } from "./common.js";

/** A change request (GitHub pull request, GitLab merge request) as a forge reports it. */
export interface ChangeRequest {
  /** The forge's id for it, as a string (`"42"`: the PR number, the MR iid). */
  readonly id: string;
  /** Where people open it. */
  readonly url: string;
  /** `open` (draft included), `merged`, or `closed` without merging. */
  readonly state: "open" | "merged" | "closed";
  /** The branch the change comes from. */
  readonly branch: string;
  /** The branch it is to be merged into. Never equal to `branch`. */
  readonly base: string;
  readonly title: string;
  readonly labels: readonly string[];
  /** The commit at the tip of `branch`, when the forge reports it. */
  readonly headSha?: string;
  /** The commit that landed on `base` once merged (merge, squash or rebased head). */
  readonly mergeSha?: string;
}

/** What to open. */
export interface OpenChangeRequest {
  /** Source branch, already pushed. */
  readonly branch: string;
  /** Target branch. Opening a change request from a branch onto itself is refused. */
  readonly base: string;
  readonly title: string;
  /** Markdown. */
  readonly body: string;
  readonly labels?: readonly string[];
  readonly draft?: boolean;
}

/** How to merge. */
export interface MergeOptions extends CallOptions {
  /** @default "merge" */
  readonly method?: "merge" | "squash" | "rebase";
  /** Merge only if the head is still this commit (never merge what was not reviewed). */
  readonly expectedHeadSha?: string;
}

/** One file to write in an API commit. */
export interface FileWrite {
  /** Path in the repository, `/`-separated, no leading slash. */
  readonly path: string;
  /** The whole new content, UTF-8. */
  readonly content: string;
}

/** A commit made through a forge's API, with no clone. */
export interface ApiCommit {
  /** Branch to commit to. Created at `parentSha` when `createBranch` is set. */
  readonly branch: string;
  /**
   * The commit the new one goes on top of, and the branch's expected head: when the branch
   * moved meanwhile the commit is refused with a `ForgeError` of kind `conflict` (never forced).
   */
  readonly parentSha: string;
  readonly createBranch: boolean;
  /** Full message, trailers included. */
  readonly message: string;
  readonly files: readonly FileWrite[];
}

/**
 * Where change requests live: GitHub, GitLab, or plain git (no change requests, direct
 * commits only). The GitOps remediator pushes a branch, then opens or finds the change
 * request for it here.
 *
 * Every method is safe to call again after a crash: `findByBranch` is how a restarted
 * controller finds the change request it opened before. Failures throw a `ForgeError`.
 *
 * Implementations: `plainGitForge()` in `@selfheal/gitops`, `githubForge()` in
 * `@selfheal/adapter-github`, `gitlabForge()` in `@selfheal/adapter-gitlab`. All pass
 * `testGitForgeContract` from `@selfheal/core/testing`.
 */
export interface GitForge {
  /** Name for logs, errors and the audit trail (`github`, `gitlab`, `git`). */
  readonly name: string;
  /** Whether the forge has change requests. A plain-git forge has none: direct commits only. */
  readonly changeRequests: boolean;
  /** Open a change request. Refuses `branch === base`. */
  open(request: OpenChangeRequest, options: CallOptions): Promise<ChangeRequest>;
  /**
   * The change request from `branch`: the open one if any, else the most recent merged or
   * closed one, else `undefined`.
   */
  findByBranch(branch: string, options: CallOptions): Promise<ChangeRequest | undefined>;
  /** The change request with this id, as it is now. */
  get(id: string, options: CallOptions): Promise<ChangeRequest>;
  /** Replace the title and/or body. */
  update(
    id: string,
    changes: { readonly title?: string; readonly body?: string },
    options: CallOptions,
  ): Promise<ChangeRequest>;
  /** Add a comment (markdown). */
  comment(id: string, body: string, options: CallOptions): Promise<void>;
  /** Add labels (existing labels stay). */
  label(id: string, labels: readonly string[], options: CallOptions): Promise<void>;
  /** Merge now. */
  merge(id: string, options: MergeOptions): Promise<ChangeRequest>;
  /** Merge by itself once required checks pass. */
  enableAutoMerge(id: string, options: MergeOptions): Promise<void>;
  /**
   * Commit files through the forge's API, with no clone (GitHub Git Data API, GitLab
   * commits API). Absent when the forge cannot. Resolves with the new commit's SHA.
   */
  commitFiles?(commit: ApiCommit, options: CallOptions): Promise<{ readonly sha: string }>;
}
