import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { openBareRepo } from "@selfheal/gitops/testing";
import { bareRepoGitLabModel } from "./bare-repo-gitlab-model.js";
import type { GitLabContract } from "./gitlab-contract.js";
import { gitLabHandlers, type Reply } from "./gitlab-handlers.js";
import { type GitLabModel, gitLabModel } from "./gitlab-model.js";
import { type Route, type RouteId, routes } from "./gitlab-routes.js";
import { checkRequest } from "./gitlab-validate.js";

/** One request the stand-in served. */
export interface Call {
  readonly route: RouteId;
  readonly method: string;
  /** The raw path and query, as sent (still URL-encoded). */
  readonly rawUrl: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: Readonly<Record<string, unknown>>;
  readonly at: number;
  /** What the stand-in answered. */
  answer?: Reply;
}

/** A GitLab stand-in: a real HTTP server on 127.0.0.1 speaking the routes of gitlab-routes.ts. */
export interface GitLabStandIn {
  /** Root URL, as `gitlabForge({ url })` takes it. */
  readonly url: string;
  readonly model: GitLabModel;
  readonly calls: Call[];
  /** Requests the contract does not allow, and other surprises; each fails `verify()`. */
  readonly violations: string[];
  /** Answer the next `times` requests of `route` with `reply` (after checking them). Must be used. */
  intercept(route: RouteId, reply: Reply, times?: number): void;
  /** Run `action` once, just before the next request of `route` is handled. Must be used. */
  before(route: RouteId, action: () => void): void;
  /** Throw if a request broke the contract or an interception or hook was left unused. */
  verify(): void;
  close(): Promise<void>;
}

export interface StandInSettings {
  readonly contract: GitLabContract;
  /** Full path of the project (`group/sub/project`). */
  readonly project: string;
  readonly projectId?: number;
  readonly token: string;
  readonly defaultBranch?: string;
  /**
   * Bare repository (the one a test git server serves) that holds the stand-in's branches and
   * commits, so the API and git see one repository, as on GitLab.
   * @default an in-memory repository with one commit on `defaultBranch`
   */
  readonly gitDir?: string;
}

const api = "/api/v4";

export async function startGitLabStandIn(settings: StandInSettings): Promise<GitLabStandIn> {
  const model =
    settings.gitDir === undefined
      ? gitLabModel(settings.defaultBranch ?? "main")
      : bareRepoGitLabModel(openBareRepo(settings.gitDir));
  const projectId = settings.projectId ?? 42;
  const handlers = gitLabHandlers(model, {
    id: projectId,
    path: settings.project,
    webUrl: `https://gitlab.example.com/${settings.project}`,
  });
  const calls: Call[] = [];
  const violations: string[] = [];
  const intercepts: { route: RouteId; reply: Reply; left: number }[] = [];
  const hooks: { route: RouteId; action: () => void }[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const handle = (request: IncomingMessage, rawBody: string): Reply => {
    const rawUrl = request.url ?? "";
    const [rawPath = "", rawQuery = ""] = rawUrl.split("?", 2);
    const query = new URLSearchParams(rawQuery);
    if (query.has("private_token")) violations.push(`token sent in the URL: ${request.method} ${rawPath}`);
    const match = rawPath.startsWith(api)
      ? matchRoute(request.method ?? "", rawPath.slice(api.length))
      : undefined;
    if (match === undefined) {
      violations.push(`unknown route ${request.method} ${rawPath}`);
      return { status: 404, body: { error: "404 Not Found" } };
    }
    const { route, rawParams } = match;
    if (request.headers["private-token"] !== settings.token)
      return { status: 401, body: { message: "401 Unauthorized" } };
    const params: Record<string, string> = {};
    for (const [name, raw] of Object.entries(rawParams)) {
      const value = decodeURIComponent(raw);
      // Every path value is one fully URL-encoded segment (contract, "Common rules").
      if (raw !== encodeURIComponent(value))
        violations.push(`${route.id}: :${name} ${raw} is not fully URL-encoded`);
      params[name] = value;
    }
    if (params.id !== settings.project && params.id !== String(projectId)) {
      violations.push(`${route.id}: unknown project ${rawParams.id}`);
      return { status: 404, body: { message: "404 Project Not Found" } };
    }
    const checked = checkRequest(settings.contract, route, query, request.headers["content-type"], rawBody);
    if (checked.refusal !== undefined) {
      violations.push(checked.refusal.problem);
      return checked.refusal;
    }
    const served: Call = {
      route: route.id,
      method: route.method,
      rawUrl,
      params,
      query,
      body: checked.body,
      at: Date.now(),
    };
    calls.push(served);
    const hook = hooks.findIndex((entry) => entry.route === route.id);
    if (hook >= 0) hooks.splice(hook, 1)[0]?.action();
    const intercept = intercepts.find((entry) => entry.route === route.id && entry.left > 0);
    if (intercept !== undefined) intercept.left--;
    served.answer = intercept?.reply ?? handlers[route.id]({ params, query, body: checked.body });
    return served.answer;
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      let reply: Reply;
      try {
        reply = handle(request, Buffer.concat(chunks).toString("utf8"));
      } catch (error) {
        violations.push(`stand-in failed: ${String(error)}`);
        reply = { status: 500, body: { message: "500 Internal Server Error" } };
      }
      const text = typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
      const send = () => {
        if (response.destroyed) return;
        response.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
        response.end(text);
      };
      if (reply.delayMs === undefined) send();
      else timers.add(setTimeout(send, reply.delayMs));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    model,
    calls,
    violations,
    intercept(route, reply, times = 1) {
      intercepts.push({ route, reply, left: times });
    },
    before(route, action) {
      hooks.push({ route, action });
    },
    verify() {
      const problems = [
        ...violations,
        ...intercepts
          .filter((entry) => entry.left > 0)
          .map((entry) => `unused interception of ${entry.route}`),
        ...hooks.map((entry) => `unused hook before ${entry.route}`),
      ];
      if (problems.length > 0) throw new Error(`GitLab stand-in:\n- ${problems.join("\n- ")}`);
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function matchRoute(
  method: string,
  rawPath: string,
): { readonly route: Route; readonly rawParams: Record<string, string> } | undefined {
  const segments = rawPath.split("/");
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = route.pattern.split("/");
    if (pattern.length !== segments.length) continue;
    const rawParams: Record<string, string> = {};
    const matches = pattern.every((part, index) => {
      const segment = segments[index] ?? "";
      if (!part.startsWith(":")) return part === segment;
      rawParams[part.slice(1)] = segment;
      return segment !== "";
    });
    if (matches) return { route, rawParams };
  }
  return undefined;
}
