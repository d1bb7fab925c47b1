import { ForgeError, type ForgeErrorKind } from "@selfheal/core";
import { afterEach, describe, expect, it } from "vitest";
import { gitlabForge } from "../src/index.js";
import { call, type ForgeUnderTest, forgeUnderTest, pushBranch, rejectionOf } from "./support/harness.js";

let current: ForgeUnderTest | undefined;
afterEach(async () => {
  await current?.cleanup();
  current = undefined;
});

async function withMergeRequest(settings: Parameters<typeof forgeUnderTest>[0] = {}) {
  current = await forgeUnderTest(settings);
  const head = pushBranch(current.standIn, "selfheal/inc-9/rollback");
  const opened = await current.forge.open(
    { branch: "selfheal/inc-9/rollback", base: "main", title: "Roll back", body: "b" },
    call(),
  );
  return { ...current, id: opened.id, head };
}

const mrUrl = "/api/v4/projects/group%2Fsub%2Fproject/merge_requests/1";

describe("GitLab error bodies become ForgeErrors with context", () => {
  it.each<[string, number, unknown, ForgeErrorKind, string]>([
    [
      "a string message",
      400,
      { message: '400 (Bad request) "title" not given' },
      "invalid",
      '"title" not given',
    ],
    [
      "an array message",
      422,
      { message: ["Title is too long", "Description is too long"] },
      "invalid",
      "Title is too long; Description is too long",
    ],
    [
      "an object message",
      400,
      { message: { title: ["can't be blank"], labels: ["is invalid"] } },
      "invalid",
      "title can't be blank; labels is invalid",
    ],
    ["an error field", 404, { error: "404 Not Found" }, "not_found", "404 Not Found"],
    ["a 403", 403, { message: "403 Forbidden" }, "forbidden", "403 Forbidden"],
    ["a 409", 409, { message: ["Another open merge request already exists"] }, "conflict", "already exists"],
    ["a non-JSON body", 400, "<html>Bad gateway</html>", "invalid", "<html>Bad gateway</html>"],
  ])("%s", async (_label, status, body, kind, text) => {
    const { standIn, forge, id } = await withMergeRequest();
    standIn.intercept("updateMergeRequest", { status, body });
    const error = await rejectionOf(forge.update(id, { title: "New" }, call()));
    expect(error).toBeInstanceOf(ForgeError);
    expect(error).toMatchObject({ kind, status, adapter: "gitlab", operation: "update" });
    const forgeError = error as ForgeError;
    expect(forgeError.message).toContain(text);
    expect(forgeError.url).toBe(`${standIn.url}${mrUrl}`);
    expect(forgeError.cause).toBeInstanceOf(Error);
    expect(standIn.calls.filter((served) => served.route === "updateMergeRequest")).toHaveLength(1);
  });

  it("a wrong token is unauthorized, and no token ever shows in the error", async () => {
    const plain = "plain-secret-token-0123";
    current = await forgeUnderTest({ token: plain });
    const wrong = gitlabForge({
      url: current.standIn.url,
      project: "group/sub/project",
      token: "glpat-wrongwrongwrong123456",
    });
    const error = await rejectionOf(wrong.get("1", call()));
    await wrong.close();
    expect(error).toMatchObject({ kind: "unauthorized", status: 401 });
    // A proxy that echoes the token: the forge scrubs it whatever its shape.
    current.standIn.intercept("getMergeRequest", {
      status: 401,
      body: { message: `token ${plain} expired` },
    });
    const echoed = (await rejectionOf(current.forge.get("1", call()))) as ForgeError;
    const everything = JSON.stringify({
      message: echoed.message,
      json: echoed.toJSON(),
      cause: String(echoed.cause),
      url: echoed.url,
    });
    expect(everything).toContain("expired");
    expect(everything).not.toContain(plain);
    expect(JSON.stringify((error as ForgeError).toJSON())).not.toContain("wrongwrong");
  });

  it.each([405, 406, 409, 422])("a %i from the merge endpoint is a conflict", async (status) => {
    const { standIn, forge, id, head } = await withMergeRequest();
    standIn.intercept("mergeMergeRequest", { status, body: { message: "Branch cannot be merged" } });
    const error = await rejectionOf(forge.merge(id, { ...call(), expectedHeadSha: head }));
    expect(error).toMatchObject({ kind: "conflict", status, operation: "merge" });
  });

  it("a merge whose head moved is a conflict (GitLab's own 409)", async () => {
    const { standIn, forge, id, head } = await withMergeRequest();
    standIn.model.push("selfheal/inc-9/rollback", { "late.yaml": "x" }, "late push");
    const error = await rejectionOf(forge.merge(id, { ...call(), expectedHeadSha: head }));
    expect(error).toMatchObject({ kind: "conflict", status: 409 });
    expect((await forge.get(id, call())).state).toBe("open");
  });
});

describe("retries", () => {
  it("sits out a 429 for its Retry-After, then succeeds", async () => {
    const { standIn, forge, id } = await withMergeRequest();
    standIn.intercept("getMergeRequest", {
      status: 429,
      body: { message: "429 Too Many Requests" },
      headers: { "retry-after": "1" },
    });
    expect((await forge.get(id, call())).id).toBe(id);
    const gets = standIn.calls.filter((served) => served.route === "getMergeRequest");
    expect(gets).toHaveLength(2);
    expect((gets[1]?.at ?? 0) - (gets[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it("reads RateLimit-Reset (a Unix time) when there is no Retry-After", async () => {
    const { standIn, forge, id } = await withMergeRequest();
    const reset = String(Math.ceil(Date.now() / 1000) + 3600);
    standIn.intercept("getMergeRequest", {
      status: 429,
      body: { message: "429 Too Many Requests" },
      headers: { "ratelimit-reset": reset },
    });
    // An hour is longer than the forge waits by itself: the caller gets the time instead.
    const error = (await rejectionOf(forge.get(id, call()))) as ForgeError;
    expect(error).toMatchObject({ kind: "rate_limited", retryable: true, status: 429 });
    expect(error.retryAfterMs).toBeGreaterThan(3_500_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(3_601_000);
  });

  it("retries a 429 even on a POST: GitLab did nothing", async () => {
    const { standIn, forge, id } = await withMergeRequest();
    standIn.intercept("createNote", {
      status: 429,
      body: { message: "429 Too Many Requests" },
      headers: { "retry-after": "0" },
    });
    await forge.comment(id, "hello", call());
    expect(standIn.calls.filter((served) => served.route === "createNote")).toHaveLength(2);
    expect(standIn.model.mergeRequests[0]?.notes).toEqual(["hello"]);
  });

  it("retries a 5xx on a read, three tries in all, then reports unavailable", async () => {
    const { standIn, forge, id } = await withMergeRequest();
    standIn.intercept("getMergeRequest", { status: 503, body: { message: "503 Service Unavailable" } }, 3);
    const error = await rejectionOf(forge.get(id, call()));
    expect(error).toMatchObject({ kind: "unavailable", retryable: true, status: 503 });
    expect(standIn.calls.filter((served) => served.route === "getMergeRequest")).toHaveLength(3);
  });

  it("never repeats a commit whose outcome is unknown (5xx)", async () => {
    current = await forgeUnderTest();
    const { standIn, forge } = current;
    const main = standIn.model.branches.get("main") ?? "";
    standIn.intercept("createCommit", { status: 502, body: { message: "502 Bad Gateway" } });
    const error = await rejectionOf(
      forge.commitFiles(
        {
          branch: "main",
          parentSha: main,
          createBranch: false,
          message: "m",
          files: [{ path: "a.yaml", content: "a" }],
        },
        call(),
      ),
    );
    expect(error).toMatchObject({ kind: "unavailable", status: 502, operation: "commitFiles" });
    expect(standIn.calls.filter((served) => served.route === "createCommit")).toHaveLength(1);
  });

  it("retries a read that timed out, but not a note", async () => {
    // 1 s, not less: every call of the test (opening the MR too) must get through on a loaded
    // machine; the held answers (10 s) are what time out.
    current = await forgeUnderTest({ settings: { timeoutMs: 1000 } });
    const { standIn, forge } = current;
    pushBranch(standIn, "b");
    const { id } = await forge.open({ branch: "b", base: "main", title: "t", body: "b" }, call());
    standIn.intercept("getMergeRequest", { status: 200, body: {}, delayMs: 10_000 }, 3);
    const read = await rejectionOf(forge.get(id, call()));
    expect(read).toMatchObject({ kind: "unavailable" });
    expect((read as ForgeError).message).toContain("did not answer within 1000 ms");
    standIn.intercept("createNote", { status: 201, body: { id: 1 }, delayMs: 10_000 });
    expect(await rejectionOf(forge.comment(id, "x", call()))).toMatchObject({ kind: "unavailable" });
    const routesCalled = standIn.calls.map((served) => served.route);
    expect(routesCalled.filter((route) => route === "getMergeRequest")).toHaveLength(3);
    expect(routesCalled.filter((route) => route === "createNote")).toHaveLength(1);
  });

  it("stops waiting when the caller's signal aborts", async () => {
    const { standIn, forge, id } = await withMergeRequest();
    standIn.intercept("getMergeRequest", {
      status: 429,
      body: { message: "429" },
      headers: { "retry-after": "30" },
    });
    // It settles on the abort, long before the 30 s retry-after it would otherwise sit out
    // (a generous margin, so a loaded machine does not matter). The caller gives up after 2 s:
    // time enough for the 429 to come back first, even on a busy machine.
    let timer: NodeJS.Timeout | undefined;
    const stillWaiting = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("still waiting for the retry"), 20_000);
    });
    const error = await Promise.race([
      rejectionOf(forge.get(id, { signal: AbortSignal.timeout(2000) })),
      stillWaiting,
    ]);
    clearTimeout(timer);
    expect(error).toMatchObject({ kind: "rate_limited" });
    expect(standIn.calls.filter((served) => served.route === "getMergeRequest")).toHaveLength(1);
  });

  it("reports a refused connection as unavailable", async () => {
    const forge = gitlabForge({
      url: "http://127.0.0.1:9",
      project: 7,
      token: "glpat-x0123456789abcdefgh",
      retryBaseDelayMs: 1,
    });
    const error = await rejectionOf(forge.get("1", call()));
    await forge.close();
    expect(error).toMatchObject({ kind: "unavailable", retryable: true, operation: "get" });
    expect((error as ForgeError).message).toMatch(/ECONNREFUSED|connect/);
  });
});
