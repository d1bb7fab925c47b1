import { describe, expect, it } from "vitest";
import { githubForge } from "../src/index.js";
import { call, failure, openPull, token, useStandIns } from "./support/forge-harness.js";
import { startGithubStandIn } from "./support/github-stand-in.js";
import { errorBody } from "./support/stand-in-handlers.js";

const { setup } = useStandIns();

describe("githubForge: rate limits and retries", () => {
  it("waits the retry-after GitHub asks for, then retries", async () => {
    const { stand, forge } = await setup();
    const { pull } = await openPull(stand, forge, "selfheal/inc-1/rollback");
    stand.failNext("pulls/get", {
      status: 403,
      headers: { "retry-after": "1", "x-ratelimit-remaining": "0" },
      body: errorBody("API rate limit exceeded for installation"),
    });
    const got = await forge.get(pull.id, call());
    expect(got.id).toBe(pull.id);
    const gets = stand.calls.filter((item) => item.operationId === "pulls/get");
    expect(gets).toHaveLength(2);
    expect((gets[1]?.at ?? 0) - (gets[0]?.at ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it("throws rate_limited at once when the limit resets later than maxRetryDelayMs", async () => {
    const { stand, forge } = await setup({ maxRetryDelayMs: 5_000 });
    const reset = Math.floor(Date.now() / 1000) + 600;
    stand.failNext("pulls/get", {
      status: 403,
      headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
      body: errorBody("API rate limit exceeded"),
    });
    const error = await failure(forge.get("1", call()));
    expect(error).toMatchObject({
      kind: "rate_limited",
      retryable: true,
      status: 403,
      operation: "getPullRequest",
    });
    expect(error.retryAfterMs).toBeGreaterThan(590_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(600_000);
    expect(stand.calls.filter((item) => item.operationId === "pulls/get")).toHaveLength(1);
  });

  it("stops waiting for a retry when the caller's signal aborts", async () => {
    const { stand, forge } = await setup();
    stand.failNext("pulls/get", {
      status: 429,
      headers: { "retry-after": "30" },
      body: errorBody("slow down"),
    });
    // It settles on the abort, long before the 30 s retry-after it would otherwise sit out
    // (a generous margin, so a loaded machine does not matter). The caller gives up after 2 s:
    // time enough for the 429 to come back first, even on a busy machine.
    let timer: NodeJS.Timeout | undefined;
    const stillWaiting = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("still waiting for the retry"), 20_000);
    });
    const error = await Promise.race([
      failure(forge.get("1", { signal: AbortSignal.timeout(2000) })),
      stillWaiting,
    ]);
    clearTimeout(timer);
    expect(error).toMatchObject({ kind: "rate_limited", retryAfterMs: 30_000 });
    expect(stand.calls.filter((item) => item.operationId === "pulls/get")).toHaveLength(1);
  });

  it("retries a 5xx, and gives up after maxAttempts with kind unavailable", async () => {
    const { stand, forge } = await setup({ maxAttempts: 2 });
    const { pull } = await openPull(stand, forge, "selfheal/inc-2/rollback");
    stand.failNext("pulls/get", { status: 502, body: errorBody("Server Error") });
    expect((await forge.get(pull.id, call())).id).toBe(pull.id);
    stand.failNext("pulls/get", { status: 503, body: errorBody("Unavailable") });
    stand.failNext("pulls/get", { status: 503, body: errorBody("Unavailable") });
    const error = await failure(forge.get(pull.id, call()));
    expect(error).toMatchObject({ kind: "unavailable", status: 503, retryable: true });
  });
});

describe("githubForge: error kinds", () => {
  it("maps a 422 Validation Failed to invalid, and an unreachable host to unavailable", async () => {
    const { forge } = await setup();
    const invalid = await failure(
      forge.open({ branch: "selfheal/never-pushed", base: "main", title: "t", body: "b" }, call()),
    );
    expect(invalid).toMatchObject({
      kind: "invalid",
      status: 422,
      retryable: false,
      operation: "openPullRequest",
    });
    const closed = await startGithubStandIn();
    await closed.close();
    const offline = githubForge({
      owner: "acme",
      repo: "config",
      auth: { token },
      baseUrl: closed.url,
      maxAttempts: 1,
    });
    const unreachable = await failure(offline.get("1", call()));
    expect(unreachable).toMatchObject({ kind: "unavailable", retryable: true });
  });

  it("refuses a change request id that is not a pull request number, asking GitHub nothing", async () => {
    const { stand, forge } = await setup();
    expect(await failure(forge.get("../1", call()))).toMatchObject({ kind: "invalid" });
    expect(stand.calls).toHaveLength(0);
  });
});
