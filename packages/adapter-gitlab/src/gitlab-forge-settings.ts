import { BadInputError } from "@selfheal/core";
import type { Dispatcher } from "undici";
import type { GitLabClientConfig } from "./gitlab-client.js";

/** Settings of {@link gitlabForge}. */
export interface GitLabForgeSettings {
  /** Root URL of the GitLab instance (`https://gitlab.example.com`), without `/api/v4`. */
  readonly url: string;
  /** The project: numeric id, or full path (`group/sub/project`), which is URL-encoded for you. */
  readonly project: string | number;
  /** Personal, project or group access token with the `api` scope, sent as `PRIVATE-TOKEN`. */
  readonly token: string;
  /**
   * The undici dispatcher requests go through (a proxy agent, a mock, a shared pool).
   * @default a keep-alive `Agent` owned by this forge and closed by `close()`
   */
  readonly dispatcher?: Dispatcher;
  /**
   * Time limit of one attempt of one request, in milliseconds.
   * @default 10000
   */
  readonly timeoutMs?: number;
  /**
   * `User-Agent` header.
   * @default "selfheal-adapter-gitlab"
   */
  readonly userAgent?: string;
  /**
   * Attempts per request, the first included; only transient failures are retried (see README).
   * @default 3
   */
  readonly maxAttempts?: number;
  /**
   * Wait before the first retry, doubled at each further one (plus jitter), when GitLab names no
   * `Retry-After`.
   * @default 250
   */
  readonly retryBaseDelayMs?: number;
}

/** Settings checked and defaults applied; the dispatcher is chosen by the forge. */
export interface ResolvedSettings {
  /** The project id or full path, not yet encoded. */
  readonly project: string;
  readonly client: Omit<GitLabClientConfig, "dispatcher">;
}

/** Check `settings` (a `BadInputError` names the bad one) and apply the defaults. */
export function resolveSettings(settings: GitLabForgeSettings): ResolvedSettings {
  const apiUrl = checkUrl(settings.url);
  if (settings.token === "") throw new BadInputError("gitlab forge: token is empty", { adapter: "gitlab" });
  const project = String(settings.project);
  if (project === "" || project.startsWith("/") || project.endsWith("/")) {
    throw new BadInputError(`gitlab forge: project ${JSON.stringify(project)} is not an id or full path`, {
      adapter: "gitlab",
    });
  }
  return {
    project,
    client: {
      apiUrl,
      token: settings.token,
      userAgent: settings.userAgent ?? "selfheal-adapter-gitlab",
      timeoutMs: positive("timeoutMs", settings.timeoutMs ?? 10_000),
      maxAttempts: Math.floor(positive("maxAttempts", settings.maxAttempts ?? 3)),
      retryBaseDelayMs: nonNegative("retryBaseDelayMs", settings.retryBaseDelayMs ?? 250),
    },
  };
}

function checkUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BadInputError("gitlab forge: url is not a valid URL", { adapter: "gitlab" });
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username !== "" || url.password !== "") {
    throw new BadInputError("gitlab forge: url must be http(s) without credentials (use token)", {
      adapter: "gitlab",
    });
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}/api/v4`;
}

function positive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new BadInputError(`gitlab forge: ${name} must be a positive number`, { adapter: "gitlab" });
  }
  return value;
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new BadInputError(`gitlab forge: ${name} must be zero or more`, { adapter: "gitlab" });
  }
  return value;
}
