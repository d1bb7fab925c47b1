// GitHub App installation tokens expire (after an hour, or sooner when GitHub says so in
// `expires_at`): the forge mints a new one and the call succeeds, against the stand-in whose
// requests and answers are checked against @octokit/openapi.
import { generateKeyPairSync } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { githubForge } from "../src/index.js";
import { call, useStandIns } from "./support/forge-harness.js";

const { start } = useStandIns();
afterEach(() => {
  vi.useRealTimers();
});

/**
 * The installation token is now old: `@octokit/auth-app` treats a 401 within 5 s of minting as
 * GitHub's replication delay and waits it out; an hour-old token that expired is not that.
 */
function tokenGrowsOld(): void {
  vi.setSystemTime(Date.now() + 10 * 60_000);
}
const mint = "apps/create-installation-access-token";

const { publicKey, privateKey } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
});

async function appForge(tokenLifetimeMs?: number) {
  const stand = await start({
    app: { appId: "1234", publicKey, installationId: 42 },
    ...(tokenLifetimeMs === undefined ? {} : { tokenLifetimeMs }),
  });
  const forge = githubForge({
    owner: "acme",
    repo: "config",
    auth: { appId: 1234, privateKey, installationId: 42 },
    baseUrl: stand.url,
    minMutationIntervalMs: 5,
  });
  return { stand, forge };
}

describe("GitHub App installation token expiry", () => {
  it("a call answered 401 'Bad credentials' on an expired token mints a new token and succeeds", async () => {
    const { stand, forge } = await appForge();
    stand.expectCall(mint, 2);
    expect(await forge.findByBranch("selfheal/none", call())).toBeUndefined();
    expect(stand.minted).toHaveLength(1);

    stand.expireMinted();
    tokenGrowsOld();
    expect(await forge.findByBranch("selfheal/none", call())).toBeUndefined();

    const [first, second] = stand.minted;
    expect(stand.minted).toHaveLength(2);
    expect(stand.calls.map((c) => [c.operationId, c.authorization.replace(/^bearer .*/i, "jwt")])).toEqual([
      [mint, "jwt"],
      ["pulls/list", `token ${first}`],
      ["pulls/list", `token ${first}`],
      [mint, "jwt"],
      ["pulls/list", `token ${second}`],
    ]);
  });

  it("a token handed out with a near expires_at is renewed before it is refused", async () => {
    // 30 s to live: inside the minute before expiry in which the forge renews.
    const { stand, forge } = await appForge(30_000);
    stand.expectCall(mint, 2);
    expect(await forge.findByBranch("selfheal/a", call())).toBeUndefined();
    expect(await forge.findByBranch("selfheal/b", call())).toBeUndefined();
    expect(stand.minted).toHaveLength(2);
    const lists = stand.calls.filter((c) => c.operationId === "pulls/list");
    expect(lists.map((c) => c.authorization)).toEqual(stand.minted.map((token) => `token ${token}`));
  });
});
