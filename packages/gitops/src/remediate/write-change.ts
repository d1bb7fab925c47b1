import {
  type FileWrite,
  ForgeError,
  type GitForge,
  type Incident,
  RemediationError,
  type RemediationPlan,
} from "@selfheal/core";
import { sleep } from "@selfheal/core/internal";
import type { GitWorkspace } from "../git/git-workspace.js";
import type { GitopsDetails } from "./gitops-details.js";

/** Everything writing a change needs. */
export interface WriteContext {
  readonly workspace: GitWorkspace;
  readonly forge: GitForge;
  readonly incident: Incident;
  readonly plan: RemediationPlan;
  readonly details: GitopsDetails;
  readonly commitVia: "git" | "api";
  readonly maxAttempts: number;
  /** The file writes of the change on top of `head` (re-worked out for each new head). */
  files(head: string): Promise<FileWrite[]>;
  readonly signal: AbortSignal;
}

/** The commit carrying the change (`undefined`: nothing needed changing), and whether it was found. */
export interface Written {
  readonly revision: string | undefined;
  readonly reused: boolean;
}

/**
 * Puts the change on the plan's own branch, created from the base's head. The branch is named
 * after the idempotency key: when it exists already, it is our earlier work and is reused.
 */
export async function writeBranch(context: WriteContext): Promise<Written> {
  const { workspace, details, signal } = context;
  const ref = `refs/heads/${details.branch}`;
  const existing = await remoteHead(workspace, ref, signal);
  if (existing !== undefined) return { revision: existing, reused: true };
  const head = await workspace.refresh(signal);
  const files = await context.files(head);
  if (files.length === 0) return { revision: undefined, reused: false };
  const created = await commitAndMove(context, { branch: details.branch, head, files, create: true });
  if (created !== undefined) return { revision: created, reused: false };
  // Refused: someone (an earlier attempt of ours, still in flight when we crashed) made it.
  const raced = await remoteHead(workspace, ref, signal);
  if (raced !== undefined) return { revision: raced, reused: true };
  throw new ForgeError(`could not create branch ${details.branch}`, {
    kind: "unavailable",
    adapter: "git",
    operation: "push",
  });
}

/**
 * Commits the change straight onto the base branch. Before each attempt it looks for its own
 * commit (the `Selfheal-Key` trailer) so a retry never commits twice; when the branch moved
 * meanwhile it refetches, re-applies the edit to the new head and tries again after a
 * jittered backoff. Never forces.
 */
export async function writeDirect(context: WriteContext): Promise<Written> {
  const { workspace, details, plan, signal } = context;
  for (let attempt = 1; attempt <= context.maxAttempts; attempt++) {
    const head = await workspace.refresh(signal);
    const own = await findOwnCommit(workspace, head, plan.idempotencyKey, context.incident.openedAt);
    if (own !== undefined) return { revision: own, reused: true };
    const files = await context.files(head);
    if (files.length === 0) return { revision: undefined, reused: false };
    const moved = await commitAndMove(context, { branch: details.base, head, files, create: false });
    if (moved !== undefined) return { revision: moved, reused: false };
    // Full jitter: concurrent remediations of one repo spread out instead of colliding again.
    await sleep(Math.random() * Math.min(2000, 100 * 2 ** attempt), signal);
  }
  throw new RemediationError(
    `${details.base} of ${workspace.url} kept moving: gave up after ${context.maxAttempts} attempts`,
    { adapter: "gitops", incidentId: context.incident.id, retryable: true },
  );
}

/** Commit on `head` and move `branch` to it; `undefined` when the server refused (it moved). */
async function commitAndMove(
  context: WriteContext,
  change: {
    readonly branch: string;
    readonly head: string;
    readonly files: FileWrite[];
    readonly create: boolean;
  },
): Promise<string | undefined> {
  const { workspace, forge, details, signal } = context;
  if (context.commitVia === "api" && forge.commitFiles !== undefined) {
    try {
      const { sha } = await forge.commitFiles(
        {
          branch: change.branch,
          parentSha: change.head,
          createBranch: change.create,
          message: details.message,
          files: change.files,
        },
        { signal },
      );
      return sha;
    } catch (error) {
      if (error instanceof ForgeError && error.kind === "conflict") return undefined;
      throw error;
    }
  }
  const sha = await workspace.commit({ parent: change.head, files: change.files, message: details.message });
  if (sha === undefined) return undefined;
  const status = await workspace.push(
    { ref: `refs/heads/${change.branch}`, oldSha: change.create ? null : change.head, newSha: sha },
    signal,
  );
  return status.ok ? sha : undefined;
}

async function remoteHead(
  workspace: GitWorkspace,
  ref: string,
  signal: AbortSignal,
): Promise<string | undefined> {
  return (await workspace.remoteRefs(ref, signal)).get(ref);
}

/** Our commit for `key` among the recent first-parent history of `head`, if any. */
async function findOwnCommit(
  workspace: GitWorkspace,
  head: string,
  key: string,
  openedAt: string,
): Promise<string | undefined> {
  // Nothing older than the incident (less a margin for clock skew) can be ours.
  const oldest = Date.parse(openedAt) - 10 * 60_000;
  const trailer = `Selfheal-Key: ${key}`;
  let sha: string | undefined = head;
  for (let walked = 0; sha !== undefined && walked < 200; walked++) {
    const commit = await workspace.readCommit(sha);
    if (commit.message.split("\n").some((line) => line === trailer)) return sha;
    if (commit.time.getTime() < oldest) return undefined;
    sha = commit.parents[0];
  }
  return undefined;
}
