import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type CreateRepoOptions, createBareRepo } from "./bare-repo.js";
import { parseCgiHead } from "./cgi-response.js";
import { hermeticGitEnvironment, runGit } from "./git-command.js";

export type { CreateRepoOptions, RepoCommit } from "./bare-repo.js";

/** Options of `startGitHttpServer`. */
export interface GitHttpServerOptions {
  /**
   * Address to listen on (the port is always chosen by the system).
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * Folder holding the bare repos (`GIT_PROJECT_ROOT`). When omitted, a fresh temporary
   * folder is created and removed by `close()`; a given folder is left in place.
   * @default a fresh mkdtemp folder
   */
  root?: string;
}

/** A request that `git http-backend` answered with a non-2xx status, kept for error messages. */
export interface GitHttpFailure {
  /** The HTTP method of the request. */
  method: string;
  /** The request path and query. */
  url: string;
  /** The status the CGI set (or 500/502 when it failed before sending headers). */
  status: number;
  /** Everything the CGI wrote to stderr. */
  stderr: string;
}

/** A running smart-HTTP git server: `git http-backend` behind node:http. */
export interface GitHttpServer {
  /** Base URL, `http://127.0.0.1:PORT`; a repo `name` lives at `${url}/${name}.git`. */
  url: string;
  /** Folder holding the bare repos. */
  root: string;
  /**
   * Non-2xx answers with the CGI's stderr, oldest first. Nothing is logged: a test that
   * fails on a git error can print these.
   */
  readonly failures: readonly GitHttpFailure[];
  /**
   * Creates the bare repo `<root>/<name>.git` (pushable over HTTP, HEAD on `options.branch`).
   * With `files`, it gets an initial commit of those files, then each of `options.commits`
   * in order; author, committer and dates are fixed so commit hashes are stable.
   */
  createRepo(
    name: string,
    files?: Record<string, string>,
    options?: CreateRepoOptions,
  ): Promise<{ url: string; path: string }>;
  /** Stops listening, kills running CGI processes and removes the root if it was created here. */
  close(): Promise<void>;
}

/** Starts `git http-backend` behind a node:http server on a free port. */
export async function startGitHttpServer(options: GitHttpServerOptions = {}): Promise<GitHttpServer> {
  const host = options.host ?? "127.0.0.1";
  const ownsRoot = options.root === undefined;
  const backend = join((await runGit(["--exec-path"])).trim(), "git-http-backend");
  const root = resolve(options.root ?? (await mkdtemp(join(tmpdir(), "selfheal-git-server-"))));
  const children = new Set<ChildProcess>();
  const failures: GitHttpFailure[] = [];

  const server = createServer((request, response) => {
    serveWithCgi(backend, root, request, response, children, failures);
  });
  try {
    await new Promise<void>((resolveListen, rejectListen) => {
      server.once("error", rejectListen);
      server.listen(0, host, () => {
        server.off("error", rejectListen);
        resolveListen();
      });
    });
  } catch (error) {
    if (ownsRoot) await rm(root, { recursive: true, force: true });
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    root,
    failures,
    async createRepo(name, files, repoOptions = {}) {
      const commits = [...(files === undefined ? [] : [{ message: "Initial commit", files }])];
      commits.push(...(repoOptions.commits ?? []));
      const path = await createBareRepo(root, name, commits, repoOptions.branch ?? "main");
      return { url: `${url}/${name}.git`, path };
    },
    close() {
      closed ??= (async () => {
        const stopped = new Promise<void>((resolveClose) => server.close(() => resolveClose()));
        server.closeAllConnections();
        await Promise.all([...children].map(killAndWait));
        await stopped;
        if (ownsRoot) await rm(root, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => {
    child.once("close", () => resolveExit());
    child.kill("SIGKILL");
  });
}

function cgiEnvironment(root: string, request: IncomingMessage): Record<string, string> {
  const requestUrl = new URL(request.url ?? "/", "http://localhost");
  const environment = hermeticGitEnvironment({
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    GATEWAY_INTERFACE: "CGI/1.1",
    SERVER_PROTOCOL: `HTTP/${request.httpVersion}`,
    PATH_INFO: decodeURIComponent(requestUrl.pathname),
    QUERY_STRING: requestUrl.search.slice(1),
    REQUEST_METHOD: request.method ?? "GET",
    CONTENT_TYPE: request.headers["content-type"] ?? "",
  });
  const optional: [string, string | undefined][] = [
    ["CONTENT_LENGTH", request.headers["content-length"]],
    ["REMOTE_ADDR", request.socket.remoteAddress],
    ["HTTP_CONTENT_ENCODING", request.headers["content-encoding"]],
    ["HTTP_GIT_PROTOCOL", headerValue(request.headers["git-protocol"])],
  ];
  for (const [name, value] of optional) if (value !== undefined) environment[name] = value;
  return environment;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}

/** Runs one request through the CGI: body to stdin, stdout (after its CGI headers) to the response. */
function serveWithCgi(
  backend: string,
  root: string,
  request: IncomingMessage,
  response: ServerResponse,
  children: Set<ChildProcess>,
  failures: GitHttpFailure[],
): void {
  let environment: Record<string, string>;
  try {
    environment = cgiEnvironment(root, request);
  } catch {
    // A malformed %-escape in the path: nothing the CGI could serve.
    response.writeHead(400).end("bad request path\n");
    return;
  }
  const child = spawn(backend, [], { env: environment, stdio: ["pipe", "pipe", "pipe"], shell: false });
  children.add(child);
  const stderr: Buffer[] = [];
  let head: Buffer = Buffer.alloc(0);
  let status: number | undefined;

  const recordFailure = (failedStatus: number) => {
    failures.push({
      method: request.method ?? "GET",
      url: request.url ?? "/",
      status: failedStatus,
      stderr: Buffer.concat(stderr).toString("utf8"),
    });
  };

  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  // The CGI may answer (e.g. 404) without reading the body; a broken pipe then is expected.
  child.stdin.on("error", () => {});
  request.pipe(child.stdin);

  const onHeadData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const parsed = parseCgiHead(head);
    if (parsed === undefined) return;
    status = parsed.status;
    child.stdout.off("data", onHeadData);
    response.writeHead(parsed.status, parsed.headers.flat());
    if (parsed.rest.length > 0) response.write(parsed.rest);
    child.stdout.pipe(response);
  };
  child.stdout.on("data", onHeadData);

  child.on("error", (error) => {
    children.delete(child);
    stderr.push(Buffer.from(`cannot run ${backend}: ${error.message}\n`));
    recordFailure(500);
    if (!response.headersSent) response.writeHead(500).end(`cannot run git http-backend: ${error.message}\n`);
  });
  child.on("close", (code, signal) => {
    children.delete(child);
    if (status === undefined) {
      // The CGI ended without a complete header block.
      recordFailure(502);
      const message = `git http-backend exited (${signal ?? code}) before its headers\n`;
      if (!response.headersSent)
        response.writeHead(502).end(message + Buffer.concat(stderr).toString("utf8"));
      else response.end();
      return;
    }
    if (status < 200 || status > 299) recordFailure(status);
  });
  response.on("close", () => {
    // The client went away mid-response: the CGI has no one to talk to. After a complete
    // response it may still be finishing (hooks, auto gc), so it is left alone then.
    if (!response.writableFinished && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
    }
  });
}
