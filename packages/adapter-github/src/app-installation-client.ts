import { createAppAuth } from "@octokit/auth-app";
import { Octokit } from "@octokit/rest";

/** Renew an installation token this long before GitHub says it expires (clock skew, slow calls). */
const renewBeforeExpiryMs = 60_000;
/** `@octokit/auth-app` keeps a token 59 minutes after minting it, whatever its `expires_at` says. */
const longestKeepMs = 59 * 60_000;

/**
 * An Octokit authenticated as a GitHub App installation that survives the expiry of its token.
 * `@octokit/auth-app` alone keeps a minted token for 59 minutes, even when GitHub handed it out
 * with a nearer `expires_at`, and a 401 "Bad credentials" on an expired token then fails every
 * call until that cache runs out. Here the cache honours `expires_at`, and a call answered 401
 * is sent once more with a freshly minted token.
 */
export function appInstallationClient(
  options: ConstructorParameters<typeof Octokit>[0] & {
    readonly appId: number | string;
    readonly privateKey: string;
    readonly installationId: number;
  },
): Octokit {
  const { appId, privateKey, installationId, ...common } = options;
  const octokit = new Octokit({
    ...common,
    authStrategy: createAppAuth,
    auth: { appId, privateKey, installationId, cache: expiryAwareCache() },
  });
  octokit.hook.error("request", async (error, request) => {
    const status = (error as { status?: unknown }).status;
    // `/app/…` routes use the app's JWT: a 401 there is not about the installation token.
    const appRoute = /^\/app(\/|$)/.test(request.url);
    // The mark travels in the request options (not sent to GitHub): one renewal per call.
    const renewed = (request.request as { selfhealRenewed?: boolean } | undefined)?.selfhealRenewed === true;
    if (status !== 401 || appRoute || renewed) throw error;
    await octokit.auth({ type: "installation", refresh: true });
    return octokit.request({ ...request, request: { ...request.request, selfhealRenewed: true } });
  });
  return octokit;
}

/**
 * The token cache of `@octokit/auth-app`, but an entry whose `expires_at` is near or past is
 * gone. Entries are auth-app's own strings, `token|createdAt|expiresAt|…`.
 */
function expiryAwareCache(): { get(key: string): string | undefined; set(key: string, value: string): void } {
  const entries = new Map<string, { readonly value: string; readonly storedAt: number }>();
  return {
    get(key) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      const expiresAt = Date.parse(entry.value.split("|")[2] ?? "");
      const now = Date.now();
      const usable =
        now - entry.storedAt < longestKeepMs &&
        (Number.isNaN(expiresAt) || expiresAt - now > renewBeforeExpiryMs);
      if (!usable) entries.delete(key);
      return usable ? entry.value : undefined;
    },
    set(key, value) {
      entries.set(key, { value, storedAt: Date.now() });
    },
  };
}
