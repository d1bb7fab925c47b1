import { Octokit } from "@octokit/rest";
import { BadInputError } from "@selfheal/core";
import { appInstallationClient } from "./app-installation-client.js";

/** A personal access token or an installation token (`ghp_…`, `github_pat_…`, `ghs_…`). */
export interface GithubTokenAuth {
  /** Sent as `authorization: token …`; never logged, never in an error. */
  readonly token: string;
}

/**
 * A GitHub App installation. Installation tokens are minted by `@octokit/auth-app` from a JWT
 * signed with the app's private key, renewed a minute before their `expires_at`, and minted again
 * when GitHub answers 401 to one (the call is then sent once more).
 */
export interface GithubAppAuth {
  /** The app's id (its settings page, "App ID"); the JWT's issuer. */
  readonly appId: number | string;
  /** The app's private key, PEM (PKCS#1 or PKCS#8). */
  readonly privateKey: string;
  /** The installation on the config repository's owner (`GET /app/installations` lists them). */
  readonly installationId: number;
}

/**
 * The part of an Octokit the forge uses. Any `Octokit` from `@octokit/rest` or `@octokit/core`
 * (with its own auth, plugins, proxy or `request.fetch`) fits.
 */
export type GithubClient = Pick<Octokit, "request" | "graphql">;

/** Settings of `githubForge`. */
export interface GithubForgeSettings {
  /** Owner (user or organisation) of the config repository. */
  readonly owner: string;
  /** Name of the config repository. */
  readonly repo: string;
  /**
   * How to authenticate. Required unless `octokit` is given.
   * @default undefined
   */
  readonly auth?: GithubTokenAuth | GithubAppAuth;
  /**
   * REST API root; GitHub Enterprise Server is `https://HOST/api/v3`.
   * @default "https://api.github.com"
   */
  readonly baseUrl?: string;
  /**
   * A ready Octokit to use instead of building one (`auth`, `baseUrl` and `userAgent` are then
   * ignored). This is how tests and proxies inject a transport. The forge retries by itself: an
   * Octokit with the retry or throttling plugin should come with `maxAttempts: 1`.
   * @default undefined
   */
  readonly octokit?: GithubClient;
  /**
   * Least time between two mutating requests (POST, PATCH, PUT, DELETE, GraphQL mutations) of
   * this forge. GitHub asks integrators for at least one second, to avoid secondary rate limits.
   * @default 1000
   */
  readonly minMutationIntervalMs?: number;
  /**
   * Tries per request when GitHub rate limits or fails (5xx, connection reset), the first included.
   * @default 3
   */
  readonly maxAttempts?: number;
  /**
   * Longest wait before a retry. A rate limit that resets later is thrown at once as a
   * `ForgeError` of kind `rate_limited` with `retryAfterMs`, for the caller to schedule.
   * @default 60000
   */
  readonly maxRetryDelayMs?: number;
  /**
   * `User-Agent` header; GitHub asks for one naming the integration.
   * @default "selfheal-adapter-github"
   */
  readonly userAgent?: string;
}

/** Settings resolved: what the forge works with. */
export interface GithubForgeConfig {
  readonly owner: string;
  readonly repo: string;
  readonly client: GithubClient;
  readonly minMutationIntervalMs: number;
  readonly maxAttempts: number;
  readonly maxRetryDelayMs: number;
}

/** Check `settings` and build the client. Throws `BadInputError` on settings that cannot work. */
export function resolveGithubForgeSettings(settings: GithubForgeSettings): GithubForgeConfig {
  const fail = (message: string) => new BadInputError(`github forge: ${message}`, { adapter: "github" });
  if (!/^[A-Za-z0-9_.-]+$/.test(settings.owner)) throw fail("owner must be a GitHub user or organisation");
  if (!/^[A-Za-z0-9_.-]+$/.test(settings.repo)) throw fail("repo must be a repository name");
  const minMutationIntervalMs = settings.minMutationIntervalMs ?? 1000;
  if (!(Number.isFinite(minMutationIntervalMs) && minMutationIntervalMs >= 0)) {
    throw fail("minMutationIntervalMs must be a number ≥ 0");
  }
  const maxAttempts = settings.maxAttempts ?? 3;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) throw fail("maxAttempts must be an integer ≥ 1");
  const maxRetryDelayMs = settings.maxRetryDelayMs ?? 60_000;
  if (!(Number.isFinite(maxRetryDelayMs) && maxRetryDelayMs >= 0)) {
    throw fail("maxRetryDelayMs must be a number ≥ 0");
  }
  return {
    owner: settings.owner,
    repo: settings.repo,
    client: settings.octokit ?? createClient(settings, fail),
    minMutationIntervalMs,
    maxAttempts,
    maxRetryDelayMs,
  };
}

function ignore(): void {}

function createClient(settings: GithubForgeSettings, fail: (message: string) => Error): GithubClient {
  const common = {
    baseUrl: settings.baseUrl ?? "https://api.github.com",
    userAgent: settings.userAgent ?? "selfheal-adapter-github",
    // Octokit logs every failed request to the console; each one reaches the caller as a
    // ForgeError, which the caller logs with its context. Deprecation warnings still show.
    log: { debug: ignore, info: ignore, warn: console.warn, error: ignore },
  };
  const auth = settings.auth;
  if (auth === undefined) throw fail("give auth ({ token } or a GitHub App) or a ready octokit");
  if ("token" in auth) {
    if (auth.token.trim() === "") throw fail("auth.token is empty");
    return new Octokit({ ...common, auth: auth.token });
  }
  if (!auth.privateKey.includes("PRIVATE KEY")) throw fail("auth.privateKey must be a PEM private key");
  return appInstallationClient({
    ...common,
    appId: auth.appId,
    privateKey: auth.privateKey,
    installationId: auth.installationId,
  });
}
