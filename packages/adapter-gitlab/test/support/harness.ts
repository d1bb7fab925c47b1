import { type GitLabForge, type GitLabForgeSettings, gitlabForge } from "../../src/index.js";
import { type GitLabContract, loadGitLabContract } from "./gitlab-contract.js";
import type { GitLabModel } from "./gitlab-model.js";
import { type GitLabStandIn, startGitLabStandIn } from "./gitlab-stand-in.js";

/** A token in GitLab's personal access token format (fake). */
export const token = "glpat-standin0123456789abcdef";

/** The contract, loaded once per test file. */
export const contract: GitLabContract = loadGitLabContract();

/** A stand-in and a forge pointed at it. */
export interface ForgeUnderTest {
  readonly standIn: GitLabStandIn;
  readonly forge: GitLabForge;
  /** Close both, then fail on contract violations and unused expectations. */
  cleanup(): Promise<void>;
}

export async function forgeUnderTest(
  options: {
    readonly project?: string;
    /** The token the stand-in accepts. */
    readonly token?: string;
    readonly settings?: Partial<GitLabForgeSettings>;
  } = {},
): Promise<ForgeUnderTest> {
  const project = options.project ?? "group/sub/project";
  const accepted = options.token ?? token;
  const standIn = await startGitLabStandIn({ contract, project, token: accepted });
  const forge = gitlabForge({
    url: standIn.url,
    project,
    token: accepted,
    retryBaseDelayMs: 5,
    ...options.settings,
  });
  return {
    standIn,
    forge,
    async cleanup() {
      await forge.close();
      await standIn.close();
      standIn.verify();
    },
  };
}

/** Options of one forge call. */
export const call = () => ({ signal: AbortSignal.timeout(10_000) });

/** The rejection of `promise`, failing the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

/** Give `branch` one commit more than main, as a git push would; resolves with its head. */
export function pushBranch(standIn: { readonly model: GitLabModel }, branch: string): string {
  standIn.model.branches.set(branch, standIn.model.branches.get("main") ?? "");
  return standIn.model.push(branch, { [`apps/${branch}.yaml`]: "image: v2\n" }, `Push ${branch}`);
}
