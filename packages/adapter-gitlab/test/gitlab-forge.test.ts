import { ForgeError } from "@selfheal/core";
import { Agent } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { call, type ForgeUnderTest, forgeUnderTest, pushBranch, rejectionOf } from "./support/harness.js";

const open: ForgeUnderTest[] = [];
afterEach(async () => {
  for (const harness of open.splice(0)) await harness.cleanup();
});

async function start(options: Parameters<typeof forgeUnderTest>[0] = {}): Promise<ForgeUnderTest> {
  const harness = await forgeUnderTest(options);
  open.push(harness);
  return harness;
}

const file = "apps/checkout/deployment.yaml";

describe("URLs", () => {
  it("URL-encodes the project path, file paths and branch names as whole segments", async () => {
    const { standIn, forge } = await start();
    const main = standIn.model.branches.get("main") ?? "";
    const first = await forge.commitFiles(
      {
        branch: "selfheal/inc-1/rollback",
        parentSha: main,
        createBranch: true,
        message: "m",
        files: [{ path: file, content: "a" }],
      },
      call(),
    );
    await forge.commitFiles(
      {
        branch: "selfheal/inc-1/rollback",
        parentSha: first.sha,
        createBranch: false,
        message: "m2",
        files: [{ path: file, content: "b" }],
      },
      call(),
    );
    const urls = standIn.calls.map((served) => served.rawUrl);
    expect(urls).toEqual([
      `/api/v4/projects/group%2Fsub%2Fproject/repository/files/apps%2Fcheckout%2Fdeployment.yaml?ref=${main}`,
      "/api/v4/projects/group%2Fsub%2Fproject/repository/commits",
      "/api/v4/projects/group%2Fsub%2Fproject/repository/branches/selfheal%2Finc-1%2Frollback",
      `/api/v4/projects/group%2Fsub%2Fproject/repository/files/apps%2Fcheckout%2Fdeployment.yaml?ref=${first.sha}`,
      "/api/v4/projects/group%2Fsub%2Fproject/repository/commits",
    ]);
  });

  it("takes a numeric project id, and a URL with a trailing slash", async () => {
    const { standIn } = await start();
    const { gitlabForge } = await import("../src/index.js");
    const forge = gitlabForge({
      url: `${standIn.url}/`,
      project: 42,
      token: "glpat-standin0123456789abcdef",
    });
    expect(await forge.findByBranch("nothing", call())).toBeUndefined();
    await forge.close();
    expect(standIn.calls[0]?.rawUrl).toMatch(/^\/api\/v4\/projects\/42\/merge_requests\?/);
  });
});

describe("merge requests", () => {
  it("opens with the contract's attributes: labels comma-joined, a draft by its title", async () => {
    const { standIn, forge } = await start();
    const head = pushBranch(standIn, "selfheal/inc-2/scale_up");
    const opened = await forge.open(
      {
        branch: "selfheal/inc-2/scale_up",
        base: "main",
        title: "Scale",
        body: "why",
        labels: ["selfheal", "scale_up"],
        draft: true,
      },
      call(),
    );
    expect(standIn.calls.map((served) => served.body)).toEqual([
      {
        source_branch: "selfheal/inc-2/scale_up",
        target_branch: "main",
        title: "Draft: Scale",
        description: "why",
        labels: "selfheal,scale_up",
      },
    ]);
    expect(opened).toMatchObject({ id: "1", state: "open", headSha: head, labels: ["selfheal", "scale_up"] });
    expect(opened.url).toBe("https://gitlab.example.com/group/sub/project/-/merge_requests/1");
  });

  it("refuses a branch onto itself, a bad iid and a comma in a label without asking GitLab", async () => {
    const { standIn, forge } = await start();
    for (const attempt of [
      forge.open({ branch: "main", base: "main", title: "t", body: "b" }, call()),
      forge.get("1/../2", call()),
      forge.label("1", ["a,b"], call()),
      forge.merge("1", { ...call(), method: "rebase" }),
    ]) {
      expect(await rejectionOf(attempt)).toMatchObject({ kind: "invalid", adapter: "gitlab" });
    }
    await forge.label("1", [], call());
    expect(standIn.calls).toEqual([]);
  });

  it("opening again returns the merge request already open for the same branches", async () => {
    const { standIn, forge } = await start();
    pushBranch(standIn, "b");
    const first = await forge.open({ branch: "b", base: "main", title: "t", body: "b" }, call());
    const again = await forge.open({ branch: "b", base: "main", title: "t", body: "b" }, call());
    expect(again.id).toBe(first.id);
    expect(standIn.model.mergeRequests).toHaveLength(1);
  });

  it("retries a create whose answer was lost, and returns the merge request it did open", async () => {
    const { standIn, forge } = await start();
    pushBranch(standIn, "b");
    // GitLab opens the MR, then a proxy loses the answer (502): the retry gets GitLab's 409.
    standIn.before("createMergeRequest", () => {
      standIn.model.mergeRequests.push({
        iid: 1,
        id: 1001,
        title: "t",
        description: "",
        state: "opened",
        sourceBranch: "b",
        targetBranch: "main",
        labels: [],
        mergeWhenPipelineSucceeds: false,
        mergeCommitSha: null,
        squashCommitSha: null,
        mergedAt: null,
        createdAt: 1,
        notes: [],
      });
    });
    standIn.intercept("createMergeRequest", { status: 502, body: { message: "502 Bad Gateway" } });
    const opened = await forge.open({ branch: "b", base: "main", title: "t", body: "" }, call());
    expect(opened).toMatchObject({ id: "1", state: "open" });
    expect(standIn.calls.map((served) => served.route)).toEqual([
      "createMergeRequest",
      "createMergeRequest",
      "listMergeRequests",
    ]);
    expect(standIn.model.mergeRequests).toHaveLength(1);
  });

  it("finds the open merge request first, else the most recent one", async () => {
    const { standIn, forge } = await start();
    const head = pushBranch(standIn, "b");
    const one = await forge.open({ branch: "b", base: "main", title: "one", body: "" }, call());
    await forge.merge(one.id, { ...call(), expectedHeadSha: head });
    expect((await forge.findByBranch("b", call()))?.id).toBe(one.id);
    const two = await forge.open({ branch: "b", base: "main", title: "two", body: "" }, call());
    expect(await forge.findByBranch("b", call())).toMatchObject({ id: two.id, state: "open" });
    const states = standIn.calls
      .filter((served) => served.route === "listMergeRequests")
      .map((served) => served.query.get("state"));
    expect(states).toEqual(["all", "all"]);
  });

  it("squash-merges at the reviewed head, and reports the commit that landed", async () => {
    const { standIn, forge } = await start();
    const head = pushBranch(standIn, "b");
    const { id } = await forge.open({ branch: "b", base: "main", title: "t", body: "" }, call());
    const merged = await forge.merge(id, { ...call(), method: "squash", expectedHeadSha: head });
    expect(standIn.calls.at(-1)?.body).toEqual({ sha: head, squash: true });
    expect(merged).toMatchObject({ state: "merged", mergeSha: standIn.model.branches.get("main") });
  });

  it("sets auto-merge with both the current and the deprecated attribute", async () => {
    const { standIn, forge } = await start();
    const head = pushBranch(standIn, "b");
    const { id } = await forge.open({ branch: "b", base: "main", title: "t", body: "" }, call());
    await forge.enableAutoMerge(id, { ...call(), expectedHeadSha: head });
    expect(standIn.calls.at(-1)?.body).toEqual({
      sha: head,
      auto_merge: true,
      merge_when_pipeline_succeeds: true,
    });
    expect(standIn.model.mergeRequests[0]?.mergeWhenPipelineSucceeds).toBe(true);
  });
});

describe("commitFiles", () => {
  it("updates an existing file under its last_commit_id and creates a new one", async () => {
    const { standIn, forge } = await start();
    const main = standIn.model.branches.get("main") ?? "";
    const lastCommitId = standIn.model.commits.get(main)?.files.get("README.md")?.lastCommitId;
    const { sha } = await forge.commitFiles(
      {
        branch: "main",
        parentSha: main,
        createBranch: false,
        message: "two files",
        files: [
          { path: "README.md", content: "# new\n" },
          { path: file, content: "image: v1\n" },
        ],
      },
      call(),
    );
    expect(standIn.calls.find((served) => served.route === "createCommit")?.body).toEqual({
      branch: "main",
      commit_message: "two files",
      actions: [
        { action: "update", file_path: "README.md", content: "# new\n", last_commit_id: lastCommitId },
        { action: "create", file_path: file, content: "image: v1\n" },
      ],
    });
    expect(standIn.model.branches.get("main")).toBe(sha);
    expect(standIn.model.filesOf("main")).toEqual({ "README.md": "# new\n", [file]: "image: v1\n" });
  });

  it.each([
    ["changed", { "README.md": "# theirs\n" }, "README.md"],
    ["created", { [file]: "image: theirs\n" }, file],
  ])("refuses, writing nothing, when a file was %s after the head check", async (_how, theirs, path) => {
    const { standIn, forge } = await start();
    const main = standIn.model.branches.get("main") ?? "";
    let theirCommit = "";
    standIn.before("createCommit", () => {
      theirCommit = standIn.model.push("main", theirs, "someone else");
    });
    const error = await rejectionOf(
      forge.commitFiles(
        {
          branch: "main",
          parentSha: main,
          createBranch: false,
          message: "ours",
          files: [{ path, content: "ours\n" }],
        },
        call(),
      ),
    );
    expect(error).toBeInstanceOf(ForgeError);
    expect(error).toMatchObject({ kind: "conflict", status: 400, operation: "commitFiles" });
    expect(standIn.model.branches.get("main")).toBe(theirCommit);
    expect(standIn.model.filesOf("main")[path]).toBe(Object.values(theirs)[0]);
    expect([...standIn.model.commits.values()].some((commit) => commit.message === "ours")).toBe(false);
  });

  it("refuses to create a branch that already exists", async () => {
    const { standIn, forge } = await start();
    const main = standIn.model.branches.get("main") ?? "";
    const error = await rejectionOf(
      forge.commitFiles(
        {
          branch: "main",
          parentSha: main,
          createBranch: true,
          message: "m",
          files: [{ path: file, content: "x" }],
        },
        call(),
      ),
    );
    expect(error).toMatchObject({ kind: "conflict" });
    expect(standIn.model.branches.get("main")).toBe(main);
  });
});

describe("instances", () => {
  it("two forges against two GitLabs in one process share nothing", async () => {
    const a = await start({ project: "team-a/config", token: "glpat-aaaaaaaaaaaaaaaaaaaa" });
    const b = await start({ project: "team-b/config", token: "glpat-bbbbbbbbbbbbbbbbbbbb" });
    pushBranch(a.standIn, "fix");
    pushBranch(b.standIn, "fix");
    const [fromA, fromB] = await Promise.all([
      a.forge.open({ branch: "fix", base: "main", title: "A", body: "" }, call()),
      b.forge.open({ branch: "fix", base: "main", title: "B", body: "" }, call()),
    ]);
    expect(fromA.url).toContain("team-a/config");
    expect(fromB.url).toContain("team-b/config");
    await a.forge.close();
    expect((await b.forge.get(fromB.id, call())).title).toBe("B");
    expect(a.standIn.calls.every((served) => served.rawUrl.includes("team-a%2Fconfig"))).toBe(true);
    expect(b.standIn.calls.every((served) => served.rawUrl.includes("team-b%2Fconfig"))).toBe(true);
  });

  it("leaves an injected dispatcher open on close", async () => {
    const dispatcher = new Agent();
    const { standIn } = await start();
    const { gitlabForge } = await import("../src/index.js");
    const forge = gitlabForge({
      url: standIn.url,
      project: "group/sub/project",
      token: "glpat-standin0123456789abcdef",
      dispatcher,
    });
    await forge.close();
    await forge.close();
    expect(await forge.findByBranch("none", call())).toBeUndefined();
    await dispatcher.close();
  });
});
