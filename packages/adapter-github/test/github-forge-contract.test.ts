import { testGitForgeContract } from "@selfheal/core/testing";
import { githubForge } from "../src/index.js";
import { startGithubStandIn } from "./support/github-stand-in.js";

const token = "ghp_contractTestToken0123456789abcdef";

testGitForgeContract("github", async () => {
  const standIn = await startGithubStandIn({ tokens: [token] });
  return {
    forge: githubForge({
      owner: "acme",
      repo: "config",
      auth: { token },
      baseUrl: standIn.url,
      minMutationIntervalMs: 5,
    }),
    base: "main",
    pushBranch: async (branch) => standIn.model.pushBranch(branch),
    headOf: async (branch) => standIn.model.refs.get(`heads/${branch}`),
    cleanup: () => standIn.close(),
  };
});
