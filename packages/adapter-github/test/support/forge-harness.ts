import { ForgeError, type GitForge } from "@selfheal/core";
import { afterEach, expect } from "vitest";
import { type GithubForgeSettings, githubForge } from "../../src/index.js";
import { type GithubStandIn, type StandInOptions, startGithubStandIn } from "./github-stand-in.js";

/** The token the stand-ins of the forge's own tests accept. */
export const token = "ghp_ownCasesToken0123456789abcdefABCD";

/** Options of one forge call, with a time limit well under the test's. */
export const call = () => ({ signal: AbortSignal.timeout(20_000) });

/**
 * Stand-ins for the tests of one file, each closed after its test: a spec violation, an
 * unhandled request or an unused expectation then fails that test.
 */
export function useStandIns() {
  const started: GithubStandIn[] = [];
  afterEach(async () => {
    const closing = started.splice(0);
    for (const stand of closing) await stand.close();
  });
  const start = async (options: StandInOptions = { tokens: [token] }) => {
    const stand = await startGithubStandIn(options);
    started.push(stand);
    return stand;
  };
  /** A stand-in and a forge on it (mutations 5 ms apart unless `settings` says otherwise). */
  const setup = async (
    settings: Partial<GithubForgeSettings> = {},
  ): Promise<{ stand: GithubStandIn; forge: GitForge }> => {
    const stand = await start();
    const forge = githubForge({
      owner: "acme",
      repo: "config",
      auth: { token },
      baseUrl: stand.url,
      minMutationIntervalMs: 5,
      ...settings,
    });
    return { stand, forge };
  };
  return { start, setup };
}

/** Push `branch` in the stand-in's repository and open a pull request from it. */
export async function openPull(stand: GithubStandIn, forge: GitForge, branch: string) {
  const head = stand.model.pushBranch(branch);
  const pull = await forge.open({ branch, base: "main", title: `change ${branch}`, body: "b" }, call());
  return { head, pull };
}

/** The ForgeError `promise` rejects with; fails the test if it resolves or rejects otherwise. */
export const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => expect.unreachable("expected a ForgeError"),
    (error: unknown) => {
      expect(error).toBeInstanceOf(ForgeError);
      return error as ForgeError;
    },
  );
