import { describe, expect, it } from "vitest";
import { startGithubStandIn } from "./support/github-stand-in.js";

const token = "ghp_standInSelfTest0123456789abcdefAB";
const headers = { authorization: `token ${token}`, "content-type": "application/json" };

// The stand-in is what keeps the forge honest: check that it does fail a test.
describe("GitHub stand-in", () => {
  it("fails on a path GitHub's spec does not define", async () => {
    const stand = await startGithubStandIn({ tokens: [token] });
    await fetch(`${stand.url}/repos/acme/config/pull-requests`, { headers });
    await expect(stand.close()).rejects.toThrow(/no such operation in GitHub's spec/);
  });

  it("fails on a body or a query parameter the spec does not allow", async () => {
    const stand = await startGithubStandIn({ tokens: [token] });
    stand.model.pushBranch("feature");
    await fetch(`${stand.url}/repos/acme/config/pulls`, {
      method: "POST",
      headers,
      body: JSON.stringify({ title: "t", head: "feature", base: "main", draft: "yes" }),
    });
    await fetch(`${stand.url}/repos/acme/config/pulls?state=merged&colour=red`, { headers });
    const error = await stand.close().catch((thrown: unknown) => String(thrown));
    expect(error).toMatch(/body \/draft must be boolean/);
    expect(error).toMatch(/query state: \(root\) must be equal to one of the allowed values/);
    expect(error).toMatch(/query parameter colour is not in the spec/);
  });

  it("fails when an injected answer does not match the spec, or an expected call is not made", async () => {
    const stand = await startGithubStandIn({ tokens: [token] });
    stand.failNext("pulls/get", { status: 404, body: { message: 404 } });
    stand.expectCall("git/create-ref");
    await fetch(`${stand.url}/repos/acme/config/pulls/1`, { headers });
    const error = await stand.close().catch((thrown: unknown) => String(thrown));
    expect(error).toMatch(/response 404 \/message must be string/);
    expect(error).toMatch(/1 expected call\(s\) of git\/create-ref not made/);
  });

  it("passes a request and answer that follow the spec", async () => {
    const stand = await startGithubStandIn({ tokens: [token] });
    const response = await fetch(`${stand.url}/repos/acme/config/git/ref/heads%2Fmain`, { headers });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ref: "refs/heads/main" });
    await stand.close();
  });
});
