import { existsSync, readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { type ArgocdSwaggerOperation, argocdSwaggerChecker } from "../src/testing/index.js";

// An Argo CD API server stand-in. Every request is checked against the official swagger
// (method + path template, declared query parameters, body schema) and every answer it sends
// against the schema of that status; whatever does not match is a problem that fails the test.

const swagger = argocdSwaggerChecker(JSON.parse(readFileSync(contractFile("argocd-swagger.json"), "utf8")));

/**
 * A file of `shared/contracts/`, the folder beside the repository: found upwards from here, so
 * the tests run in a checkout at `/work/main` as well as in a worktree one level deeper.
 */
export function contractFile(name: string): URL {
  for (let up = "../../../../"; up.length < 40; up += "../") {
    const candidate = new URL(`${up}shared/contracts/${name}`, import.meta.url);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`shared/contracts/${name} not found above ${import.meta.url}`);
}

/** A request the stand-in accepted, as a handler sees it. */
export interface StandInRequest {
  readonly operationId: string;
  readonly pathParams: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly headers: IncomingMessage["headers"];
}

/** A handler's answer: a status and a JSON body (checked against the spec before it is sent). */
export interface StandInAnswer {
  readonly status: number;
  readonly body: unknown;
}

export type StandInHandler = (request: StandInRequest) => StandInAnswer | Promise<StandInAnswer>;

/** An Argo CD API `runtimeError` body, as grpc-gateway writes it. */
export function runtimeError(code: number, message: string): unknown {
  return { error: message, code, message, details: [] };
}

export interface StandIn {
  readonly url: string;
  /** Every request received, in order. */
  readonly requests: StandInRequest[];
  /** Violations of the spec and unexpected calls. */
  readonly problems: string[];
  /**
   * Expect `operationId` to be called at least once; `handler` answers it (it may be called
   * many times). An operation without an expectation is a problem.
   */
  expect(operationId: string, handler: StandInHandler): void;
  /** Stop the server; throws when a problem was seen or an expectation was left unused. */
  close(): Promise<void>;
}

export interface StandInOptions {
  /** The bearer token every request must carry (401 otherwise). */
  readonly token?: string;
  /** Serve HTTPS with this key and certificate. */
  readonly tls?: { readonly key: string; readonly cert: string };
}

/** Start a stand-in on 127.0.0.1 on a free port. */
export async function startStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const requests: StandInRequest[] = [];
  const problems: string[] = [];
  const handlers = new Map<string, { handler: StandInHandler; used: number }>();

  const send = (
    response: ServerResponse,
    operation: ArgocdSwaggerOperation | undefined,
    answer: StandInAnswer,
  ) => {
    if (operation !== undefined)
      problems.push(...swagger.checkResponse(operation, answer.status, answer.body));
    const text = JSON.stringify(answer.body);
    response.writeHead(answer.status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    response.end(text);
  };

  const listener = (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const url = new URL(request.url ?? "/", "http://stand-in");
      const method = request.method ?? "GET";
      const route = swagger.route(method, url.pathname);
      if (route === undefined) {
        problems.push(`${method} ${url.pathname} is not in the Argo CD swagger`);
        send(response, undefined, { status: 404, body: runtimeError(5, "Not Found") });
        return;
      }
      const { operation, pathParams } = route;
      const id = operation.operationId;
      const text = Buffer.concat(chunks).toString("utf8");
      const { body, problems: requestProblems } = swagger.checkRequest(operation, url.searchParams, text);
      problems.push(...requestProblems);
      if (text !== "" && !String(request.headers["content-type"]).startsWith("application/json")) {
        problems.push(`${id}: body sent as ${request.headers["content-type"]}, not application/json`);
      }
      const seen: StandInRequest = {
        operationId: id,
        pathParams,
        query: url.searchParams,
        body,
        headers: request.headers,
      };
      requests.push(seen);
      if (options.token !== undefined && request.headers.authorization !== `Bearer ${options.token}`) {
        send(response, operation, {
          status: 401,
          body: runtimeError(16, "invalid session: token is malformed"),
        });
        return;
      }
      const expectation = handlers.get(id);
      if (expectation === undefined) {
        problems.push(`${id} was called but not expected`);
        send(response, operation, { status: 500, body: runtimeError(2, `stand-in: ${id} not expected`) });
        return;
      }
      expectation.used++;
      Promise.resolve(expectation.handler(seen)).then(
        (answer) => {
          if (!response.destroyed) send(response, operation, answer);
        },
        (error: unknown) => {
          problems.push(`${id} handler failed: ${String(error)}`);
          response.destroy();
        },
      );
    });
  };

  const server =
    options.tls === undefined ? createHttpServer(listener) : createHttpsServer({ ...options.tls }, listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
    requests,
    problems,
    expect(operationId, handler) {
      if (!swagger.hasOperation(operationId)) {
        throw new Error(`${operationId} is not an operation of the Argo CD swagger`);
      }
      handlers.set(operationId, { handler, used: 0 });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const unused = [...handlers]
        .filter(([, entry]) => entry.used === 0)
        .map(([id]) => `${id} expected but not called`);
      const all = [...problems, ...unused];
      if (all.length > 0) throw new Error(`Argo CD stand-in:\n${all.join("\n")}`);
    },
  };
}

/**
 * An answer held back until the test releases it: a handler awaiting `promise` answers only
 * after the client under test gave up, so a timeout is shown to fire without racing a timer.
 */
export function hold(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}
