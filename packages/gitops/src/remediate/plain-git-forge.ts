import { ForgeError, type GitForge } from "@selfheal/core";

/**
 * The forge of a plain git server: no change requests, so the GitOps remediator commits
 * straight to the target branch. Every change-request method refuses with a clear error.
 */
export function plainGitForge(): GitForge {
  const refuse = (operation: string) => async (): Promise<never> => {
    throw new ForgeError(
      `plain git has no change requests (${operation}): use mode "direct" or a GitHub/GitLab forge`,
      {
        kind: "invalid",
        adapter: "git",
        operation,
      },
    );
  };
  return {
    name: "git",
    changeRequests: false,
    open: refuse("open"),
    findByBranch: async () => undefined,
    get: refuse("get"),
    update: refuse("update"),
    comment: refuse("comment"),
    label: refuse("label"),
    merge: refuse("merge"),
    enableAutoMerge: refuse("enableAutoMerge"),
  };
}
