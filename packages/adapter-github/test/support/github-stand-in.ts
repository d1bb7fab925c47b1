import { createPublicKey, randomBytes, verify } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { openBareRepo } from "@selfheal/gitops/testing";
import { githubSpec, type Json, type JsonObject, type SpecOperation } from "./github-spec.js";
import { RepoModel } from "./repo-model.js";
import { errorBody, type HandlerContext, handlers, type StandInResponse } from "./stand-in-handlers.js";

/** A GitHub App the stand-in mints installation tokens for. */
export interface StandInApp {
  readonly appId: string;
  /** PEM public key the app's JWTs must verify with. */
  readonly publicKey: string;
  readonly installationId: number;
}

/** Settings of the stand-in. */
export interface StandInOptions {
  readonly owner?: string;
  readonly repo?: string;
  /** Tokens accepted in `authorization: token …`. */
  readonly tokens?: readonly string[];
  readonly app?: StandInApp;
  /**
   * Lifetime of each minted installation token (its `expires_at`); past it the token is
   * answered 401 "Bad credentials", as GitHub does.
   * @default 3_600_000
   */
  readonly tokenLifetimeMs?: number;
  /**
   * Bare repository (the one a test git server serves) that holds the stand-in's refs, commits
   * and trees, so the API and git see one repository, as on GitHub.
   * @default an in-memory repository with one commit on `main`
   */
  readonly gitDir?: string;
}

/** One request the stand-in received. */
export interface RecordedCall {
  readonly operationId: string;
  readonly method: string;
  readonly path: string;
  readonly authorization: string;
  /** `performance.now()` when it arrived. */
  readonly at: number;
}

/** A GitHub stand-in: a real HTTP server that speaks GitHub's REST spec, and nothing else. */
export interface GithubStandIn {
  /** Give this to Octokit as `baseUrl`. */
  readonly url: string;
  readonly model: RepoModel;
  readonly calls: readonly RecordedCall[];
  /** Tokens minted for the GitHub App. */
  readonly minted: readonly string[];
  /** Expire every installation token minted so far, now (they are answered 401 from here on). */
  expireMinted(): void;
  /** Answer the next call of `operationId` with `response` (checked against the spec too). Must be used. */
  failNext(operationId: string, response: StandInResponse): void;
  /** `operationId` must be called at least `times` times before `close`. */
  expectCall(operationId: string, times?: number): void;
  /** Stop; throws on any spec violation, unhandled request or unused expectation. */
  close(): Promise<void>;
}

const graphqlOperationId = "graphql/enablePullRequestAutoMerge";
// GitHub answers these on every endpoint (authentication, rate limits, outages); the spec
// declares them on few operations, so their body is checked against `basic-error` instead.
const genericStatuses = new Set([401, 403, 429, 500, 502, 503]);

/** Start a stand-in on 127.0.0.1, on a free port. */
export async function startGithubStandIn(options: StandInOptions = {}): Promise<GithubStandIn> {
  const spec = githubSpec();
  const owner = options.owner ?? "acme";
  const repo = options.repo ?? "config";
  const model = new RepoModel(
    "main",
    options.gitDir === undefined ? undefined : openBareRepo(options.gitDir),
  );
  const calls: RecordedCall[] = [];
  const violations: string[] = [];
  const accepted = new Set(options.tokens ?? []);
  const minted: string[] = [];
  // When each minted token stops being accepted (monotonic milliseconds).
  const expiry = new Map<string, number>();
  const injected = new Map<string, StandInResponse[]>();
  const expected = new Map<string, number>();
  let apiUrl = "";

  const context: HandlerContext = {
    model,
    owner,
    repo,
    get apiUrl() {
      return apiUrl;
    },
    example(operation, status) {
      const value = spec.example(operation, status);
      const item = Array.isArray(value) ? value[0] : value;
      return item !== null && typeof item === "object" && !Array.isArray(item) ? item : {};
    },
  };

  const server = createServer((request, response) => {
    void readBody(request).then((raw) => {
      const url = new URL(request.url ?? "/", "http://stand-in");
      const method = request.method ?? "GET";
      const answer = handle(method, url, raw, request);
      const body = answer.body === undefined ? "" : JSON.stringify(answer.body);
      response.writeHead(answer.status, {
        ...(body === "" ? {} : { "content-type": "application/json; charset=utf-8" }),
        ...answer.headers,
      });
      response.end(body);
    });
  });

  function handle(method: string, url: URL, raw: string, request: IncomingMessage): StandInResponse {
    const where = `${method} ${url.pathname}${url.search}`;
    let body: Json | undefined;
    try {
      body = raw === "" ? undefined : (JSON.parse(raw) as Json);
    } catch {
      violations.push(`${where}: body is not JSON`);
      return { status: 400, body: errorBody("Problems parsing JSON") };
    }
    if (body !== undefined && !/^application\/json/.test(request.headers["content-type"] ?? "")) {
      violations.push(`${where}: JSON body without content-type application/json`);
    }
    const authorization = request.headers.authorization ?? "";
    if (method === "POST" && url.pathname === "/graphql") {
      calls.push({
        operationId: graphqlOperationId,
        method,
        path: url.pathname,
        authorization,
        at: performance.now(),
      });
      expected.set(graphqlOperationId, (expected.get(graphqlOperationId) ?? 0) - 1);
      if (!authorized(authorization)) return { status: 401, body: errorBody("Bad credentials") };
      return graphql(where, body);
    }
    const operation = spec.match(method, url.pathname);
    if (operation === undefined) {
      violations.push(`${where}: no such operation in GitHub's spec`);
      return { status: 404, body: errorBody("Not Found") };
    }
    calls.push({
      operationId: operation.operationId,
      method,
      path: url.pathname,
      authorization,
      at: performance.now(),
    });
    expected.set(operation.operationId, (expected.get(operation.operationId) ?? 0) - 1);
    for (const problem of spec.checkRequest(operation, url.searchParams, body)) {
      violations.push(`${where} (${operation.operationId}): ${problem}`);
    }
    const answer = answerFor(operation, url, body, authorization);
    const problems = spec.checkResponse(operation, answer.status, answer.body);
    const generic = genericStatuses.has(answer.status) && answer.body !== undefined;
    const checked =
      problems.length > 0 && generic ? spec.checkComponent("basic-error", answer.body as Json) : problems;
    for (const problem of checked) violations.push(`stand-in answer to ${where}: ${problem}`);
    return answer;
  }

  function answerFor(operation: SpecOperation, url: URL, body: Json | undefined, authorization: string) {
    const queued = injected.get(operation.operationId)?.shift();
    if (queued !== undefined) return queued;
    if (operation.operationId === "apps/create-installation-access-token") {
      return mintToken(operation, authorization);
    }
    if (!authorized(authorization)) return { status: 401, body: errorBody("Bad credentials") };
    const handler = handlers[operation.operationId];
    if (handler === undefined) {
      violations.push(
        `${operation.method.toUpperCase()} ${url.pathname}: ${operation.operationId} not handled by the stand-in`,
      );
      return { status: 404, body: errorBody("Not Found") };
    }
    const { owner: askedOwner, repo: askedRepo } = operation.params;
    if (askedOwner !== undefined && (askedOwner !== owner || askedRepo !== repo)) {
      return { status: 404, body: errorBody("Not Found") };
    }
    return handler({ operation, query: url.searchParams, body }, context);
  }

  function authorized(authorization: string): boolean {
    const [scheme, credential] = authorization.split(" ");
    const expiresAt = expiry.get(credential ?? "");
    if (expiresAt !== undefined && performance.now() >= expiresAt) return false;
    return /^(token|bearer)$/i.test(scheme ?? "") && accepted.has(credential ?? "");
  }

  function mintToken(operation: SpecOperation, authorization: string): StandInResponse {
    const app = options.app;
    const problem = app === undefined ? "no GitHub App configured" : checkJwt(authorization, app);
    if (problem !== undefined) {
      violations.push(`access token request refused: ${problem}`);
      return { status: 401, body: errorBody("A JSON web token could not be decoded") };
    }
    if (operation.params.installation_id !== String(app?.installationId)) {
      return { status: 404, body: errorBody("Not Found") };
    }
    const token = `ghs_${randomBytes(18).toString("hex")}`;
    const lifetimeMs = options.tokenLifetimeMs ?? 3_600_000;
    accepted.add(token);
    minted.push(token);
    expiry.set(token, performance.now() + lifetimeMs);
    const example = context.example(operation, 201);
    return {
      status: 201,
      body: {
        ...example,
        token,
        expires_at: new Date(Date.now() + lifetimeMs).toISOString().replace(/\.\d{3}Z$/, "Z"),
      },
    };
  }

  function graphql(where: string, body: Json | undefined): StandInResponse {
    const request = asObject(body);
    const variables = asObject(request.variables);
    const query = typeof request.query === "string" ? request.query : "";
    const problems = [
      ...(/mutation[^{]*\{\s*enablePullRequestAutoMerge\s*\(/.test(query)
        ? []
        : ["query is not an enablePullRequestAutoMerge mutation"]),
      ...(["MERGE", "SQUASH", "REBASE"].includes(String(variables.mergeMethod))
        ? []
        : ["mergeMethod is not a PullRequestMergeMethod"]),
      ...(variables.expectedHeadOid === null || /^[0-9a-f]{40}$/.test(String(variables.expectedHeadOid))
        ? []
        : ["expectedHeadOid is not a GitObjectID"]),
    ];
    for (const problem of problems) violations.push(`${where}: ${problem}`);
    const pull = model.pulls.find((candidate) => candidate.nodeId === variables.pullRequestId);
    if (pull === undefined) {
      return {
        status: 200,
        body: {
          data: { enablePullRequestAutoMerge: null },
          errors: [{ type: "NOT_FOUND", message: "Could not resolve to a node" }],
        },
      };
    }
    pull.autoMerge = String(variables.mergeMethod);
    return {
      status: 200,
      body: { data: { enablePullRequestAutoMerge: { pullRequest: { number: pull.number } } } },
    };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: apiUrl,
    model,
    calls,
    minted,
    expireMinted() {
      for (const token of minted) expiry.set(token, Number.NEGATIVE_INFINITY);
    },
    failNext(operationId, response) {
      injected.set(operationId, [...(injected.get(operationId) ?? []), response]);
    },
    expectCall(operationId, times = 1) {
      expected.set(operationId, (expected.get(operationId) ?? 0) + times);
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const unused = [
        ...[...injected]
          .filter(([, queue]) => queue.length > 0)
          .map(([id, queue]) => `${queue.length} injected answer(s) for ${id} unused`),
        ...[...expected]
          .filter(([, left]) => left > 0)
          .map(([id, left]) => `${left} expected call(s) of ${id} not made`),
      ];
      const problems = [...violations, ...unused];
      if (problems.length > 0) throw new Error(`GitHub stand-in:\n${problems.join("\n")}`);
    },
  };
}

function checkJwt(authorization: string, app: StandInApp): string | undefined {
  const [scheme, jwt] = authorization.split(" ");
  if (scheme?.toLowerCase() !== "bearer" || jwt === undefined) return "not a Bearer JWT";
  const [header, payload, signature] = jwt.split(".");
  if (header === undefined || payload === undefined || signature === undefined) return "not a JWT";
  const signed = verify(
    "sha256",
    Buffer.from(`${header}.${payload}`),
    createPublicKey(app.publicKey),
    Buffer.from(signature, "base64url"),
  );
  if (!signed) return "JWT signature does not verify with the app's public key";
  const claims = asObject(JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Json);
  const alg = asObject(JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as Json).alg;
  const now = Date.now() / 1000;
  if (alg !== "RS256") return `JWT alg ${String(alg)}, not RS256`;
  if (String(claims.iss) !== app.appId) return `JWT iss ${String(claims.iss)} is not the app id`;
  if (!(typeof claims.exp === "number" && claims.exp > now && claims.exp <= now + 600 + 60))
    return "JWT exp out of range";
  return undefined;
}

function asObject(value: Json | undefined): JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : {};
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}
