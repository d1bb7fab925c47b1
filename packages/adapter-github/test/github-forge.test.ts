import { generateKeyPairSync } from "node:crypto";
import { inspect } from "node:util";
import { Octokit } from "@octokit/rest";
import { BadInputError } from "@selfheal/core";
import { describe, expect, it } from "vitest";
import { githubForge } from "../src/index.js";
import { call, failure, openPull, token, useStandIns } from "./support/forge-harness.js";

const { start, setup } = useStandIns();

describe("githubForge: mutations", () => {
  it("spaces mutations at least 1 s apart by default, even when called concurrently", async () => {
    const { stand } = await setup();
    // No minMutationIntervalMs: GitHub's one second applies.
    const forge = githubForge({ owner: "acme", repo: "config", auth: { token }, baseUrl: stand.url });
    stand.model.pushBranch("selfheal/inc-3/scale_up");
    const opened = await forge.open(
      { branch: "selfheal/inc-3/scale_up", base: "main", title: "t", body: "b" },
      call(),
    );
    await Promise.all([forge.comment(opened.id, "one", call()), forge.comment(opened.id, "two", call())]);
    const mutations = stand.calls.filter((item) => item.method !== "GET");
    expect(mutations.map((item) => item.operationId)).toEqual([
      "pulls/create",
      "issues/create-comment",
      "issues/create-comment",
    ]);
    for (let index = 1; index < mutations.length; index++) {
      expect((mutations[index]?.at ?? 0) - (mutations[index - 1]?.at ?? 0)).toBeGreaterThanOrEqual(990);
    }
    expect(stand.model.pulls[0]?.comments).toEqual(["one", "two"]);
  });

  it("opens a draft with labels, and prefers the open pull request of a branch over a newer closed one", async () => {
    const { stand, forge } = await setup();
    stand.expectCall("issues/add-labels");
    stand.model.pushBranch("selfheal/inc-4/rollback");
    const first = await forge.open(
      {
        branch: "selfheal/inc-4/rollback",
        base: "main",
        title: "one",
        body: "b",
        labels: ["selfheal"],
        draft: true,
      },
      call(),
    );
    expect(first.labels).toEqual(["selfheal"]);
    expect(stand.model.pulls[0]?.draft).toBe(true);
    await forge.merge(first.id, call());
    stand.model.pushBranch("selfheal/inc-4/rollback");
    const second = await forge.open(
      { branch: "selfheal/inc-4/rollback", base: "main", title: "two", body: "b" },
      call(),
    );
    await forge.update(first.id, { title: "one, renamed after merge" }, call());
    expect((await forge.findByBranch("selfheal/inc-4/rollback", call()))?.id).toBe(second.id);
  });

  it("maps a moved head (409) and an unmergeable pull request (405) to conflict", async () => {
    const { stand, forge } = await setup();
    const { pull } = await openPull(stand, forge, "selfheal/inc-5/rollback");
    const moved = await failure(forge.merge(pull.id, { ...call(), expectedHeadSha: "a".repeat(40) }));
    expect(moved).toMatchObject({ kind: "conflict", status: 409, operation: "mergePullRequest" });
    const merged = await forge.merge(pull.id, { ...call(), method: "squash" });
    expect(merged).toMatchObject({ state: "merged", mergeSha: stand.model.refs.get("heads/main") });
    const again = await failure(forge.merge(pull.id, call()));
    expect(again).toMatchObject({ kind: "conflict", status: 405 });
  });

  it("enables auto-merge through GraphQL with the pull request's node id", async () => {
    const { stand, forge } = await setup();
    stand.expectCall("graphql/enablePullRequestAutoMerge");
    const { head, pull } = await openPull(stand, forge, "selfheal/inc-6/rollback");
    await forge.enableAutoMerge(pull.id, { ...call(), method: "squash", expectedHeadSha: head });
    expect(stand.model.pulls[0]?.autoMerge).toBe("SQUASH");
  });
});

describe("githubForge: API commits", () => {
  it("answers conflict when the branch to create already exists (422 Reference already exists)", async () => {
    const { stand, forge } = await setup();
    stand.model.pushBranch("selfheal/inc-7/rollback");
    const parentSha = stand.model.refs.get("heads/main") as string;
    const error = await failure(
      forge.commitFiles?.(
        {
          branch: "selfheal/inc-7/rollback",
          parentSha,
          createBranch: true,
          message: "m",
          files: [{ path: "a", content: "b" }],
        },
        call(),
      ) ?? Promise.resolve(),
    );
    expect(error).toMatchObject({ kind: "conflict", status: 422, operation: "commitFiles" });
  });

  it("refuses a branch that is behind parentSha, which a fast-forward-only PATCH would accept", async () => {
    const { stand, forge } = await setup();
    const ahead = stand.model.pushBranch("elsewhere");
    const error = await failure(
      forge.commitFiles?.(
        {
          branch: "main",
          parentSha: ahead,
          createBranch: false,
          message: "m",
          files: [{ path: "a", content: "b" }],
        },
        call(),
      ) ?? Promise.resolve(),
    );
    expect(error.kind).toBe("conflict");
    expect(stand.calls.map((item) => item.operationId)).toEqual(["git/get-ref"]);
  });

  it("answers conflict when the branch moves between the check and the update (422 not a fast forward)", async () => {
    const { stand, forge } = await setup();
    const parentSha = stand.model.refs.get("heads/main") as string;
    stand.failNext("git/update-ref", {
      status: 422,
      body: { message: "Update is not a fast forward", documentation_url: "https://docs.github.com/rest" },
    });
    const error = await failure(
      forge.commitFiles?.(
        {
          branch: "main",
          parentSha,
          createBranch: false,
          message: "m",
          files: [{ path: "a", content: "b" }],
        },
        call(),
      ) ?? Promise.resolve(),
    );
    expect(error).toMatchObject({ kind: "conflict", status: 422 });
    expect(stand.model.refs.get("heads/main")).toBe(parentSha);
  });
});

describe("githubForge: authentication", () => {
  it("never puts the token in an error, its JSON or its cause", async () => {
    const stand = await start({ tokens: [token] });
    const secret = "opaque-secret-value-that-matches-no-pattern";
    const forge = githubForge({ owner: "acme", repo: "config", auth: { token: secret }, baseUrl: stand.url });
    const error = await failure(forge.get("1", call()));
    expect(error).toMatchObject({ kind: "unauthorized", status: 401, adapter: "github" });
    expect(error.url).toBe(`${stand.url}/repos/acme/config/pulls/1`);
    const seen = [error.message, JSON.stringify(error.toJSON()), inspect(error, { depth: 20 })].join("\n");
    expect(seen).not.toContain(secret);
    expect(stand.calls[0]?.authorization).toBe(`token ${secret}`);
  });

  it("authenticates as a GitHub App installation: a JWT for the token, then the token", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", {
      modulusLength: 2048,
      publicKeyEncoding: { type: "spki", format: "pem" },
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
    });
    const stand = await start({ app: { appId: "1234", publicKey, installationId: 42 } });
    stand.expectCall("apps/create-installation-access-token");
    const forge = githubForge({
      owner: "acme",
      repo: "config",
      auth: { appId: 1234, privateKey, installationId: 42 },
      baseUrl: stand.url,
      minMutationIntervalMs: 5,
    });
    const { pull } = await openPull(stand, forge, "selfheal/inc-8/rollback");
    await forge.comment(pull.id, "done", call());
    expect(stand.calls[0]?.operationId).toBe("apps/create-installation-access-token");
    expect(stand.calls[0]?.authorization).toMatch(/^bearer [\w-]+\.[\w-]+\.[\w-]+$/i);
    expect(stand.minted).toHaveLength(1);
    const later = stand.calls.slice(1);
    expect(later.length).toBeGreaterThanOrEqual(2);
    for (const item of later) expect(item.authorization).toBe(`token ${stand.minted[0]}`);
  });

  it("accepts an injected Octokit", async () => {
    const stand = await start({ tokens: [token] });
    stand.expectCall("pulls/list");
    const octokit = new Octokit({ auth: token, baseUrl: stand.url, userAgent: "injected" });
    const forge = githubForge({ owner: "acme", repo: "config", octokit, minMutationIntervalMs: 5 });
    expect(await forge.findByBranch("selfheal/none", call())).toBeUndefined();
  });

  it("refuses settings without auth or octokit", () => {
    expect(() => githubForge({ owner: "acme", repo: "config" })).toThrow(BadInputError);
    expect(() => githubForge({ owner: "acme", repo: "config", auth: { token: " " } })).toThrow(
      /token is empty/,
    );
  });
});
