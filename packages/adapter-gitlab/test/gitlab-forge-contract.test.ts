import { testGitForgeContract } from "@selfheal/core/testing";
import { describe, expect, it } from "vitest";
import { routes, routeTableProblems } from "./support/gitlab-routes.js";
import { actionItemKeys } from "./support/gitlab-validate.js";
import { call, contract, forgeUnderTest, pushBranch, token } from "./support/harness.js";

testGitForgeContract("gitlab", async () => {
  const { standIn, forge, cleanup } = await forgeUnderTest();
  return {
    forge,
    base: "main",
    // What the remediator's git push does: one commit more than main.
    pushBranch: async (branch) => pushBranch(standIn, branch),
    headOf: async (branch) => standIn.model.branches.get(branch),
    cleanup,
  };
});

describe("the GitLab stand-in against gitlab-api.md", () => {
  it("accepts only documented attributes, and requires exactly what the contract requires", () => {
    expect(routeTableProblems(contract)).toEqual([]);
    for (const key of actionItemKeys) {
      expect(contract.documents("Create commit with several file actions", key), key).toBe(true);
    }
    expect(routes.filter((route) => "gitlabDoc" in route.source).map((route) => route.id)).toEqual([
      "getBranch",
      "createNote",
    ]);
  });

  it("answers with every field the contract lists for merge requests, commits, files and branches", async () => {
    const { standIn, forge, cleanup } = await forgeUnderTest();
    try {
      const main = standIn.model.branches.get("main") ?? "";
      pushBranch(standIn, "feature");
      await forge.open({ branch: "feature", base: "main", title: "t", body: "b" }, call());
      await forge.commitFiles(
        {
          branch: "main",
          parentSha: main,
          createBranch: false,
          message: "m",
          files: [{ path: "README.md", content: "x" }],
        },
        call(),
      );
      const answers = await Promise.all(
        ["merge_requests/1", "repository/branches/main", "repository/files/README.md?ref=main"].map(
          async (path) => {
            const response = await fetch(`${standIn.url}/api/v4/projects/42/${path}`, {
              headers: { "private-token": "glpat-standin0123456789abcdef" },
            });
            return (await response.json()) as Record<string, unknown>;
          },
        ),
      );
      const [mr, branch, file] = answers;
      const lists = {
        mergeRequest: contract.fieldsAfter("Get / update MR", "MergeRequest fields an adapter reads:"),
        branch: contract.fieldsAfter("Create branch", "Branch:"),
        commit: contract.fieldsAfter("Create commit", "CommitDetail:"),
        file: contract.fieldsAfter("Get file", "`200` →"),
      };
      // A parse that found nothing would check nothing.
      expect(Object.values(lists).map((fields) => fields.length >= 8)).toEqual([true, true, true, true]);
      for (const field of lists.mergeRequest) {
        expect(mr, `merge request ${field}`).toHaveProperty(field);
      }
      for (const field of lists.branch) {
        expect(branch, `branch ${field}`).toHaveProperty(field);
      }
      const commit = standIn.calls.find((served) => served.route === "createCommit")?.answer?.body;
      for (const field of lists.commit) {
        expect(commit, `commit ${field}`).toHaveProperty(field);
      }
      for (const field of lists.file) {
        expect(file, `file ${field}`).toHaveProperty(field);
      }
    } finally {
      await cleanup();
    }
  });

  it("refuses, with GitLab's error shapes, what the contract does not define", async () => {
    const { standIn, cleanup } = await forgeUnderTest();
    const send = async (method: string, path: string, body?: unknown, key = token) => {
      const response = await fetch(`${standIn.url}/api/v4/projects/group%2Fsub%2Fproject${path}`, {
        method,
        headers: { "private-token": key, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: response.status, body: await response.json() };
    };
    expect(await send("DELETE", "/merge_requests/1")).toEqual({
      status: 404,
      body: { error: "404 Not Found" },
    });
    expect(await send("POST", "/merge_requests", { source_branch: "a", target_branch: "main" })).toEqual({
      status: 400,
      body: { message: '400 (Bad request) "title" not given' },
    });
    expect((await send("PUT", "/merge_requests/1/merge", { force: true })).status).toBe(400);
    expect(await send("GET", "/merge_requests?state=everything")).toEqual({
      status: 400,
      body: { error: "state does not have a valid value" },
    });
    expect(await send("GET", "/merge_requests", undefined, "glpat-wrongwrongwrong00000")).toEqual({
      status: 401,
      body: { message: "401 Unauthorized" },
    });
    // The first four are the client's mistakes: each would fail the test. A wrong token is not.
    expect(standIn.violations.splice(0)).toHaveLength(4);
    await cleanup();
  });
});
