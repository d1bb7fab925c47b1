import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { SeenRequest } from "./spec-check.js";

/** What the stand-in answers to one expected request. */
export interface CannedAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
  /** Wait this long before answering. */
  readonly delayMs?: number;
}

/** One request the test expects, in order, and its answer. */
export interface Expectation {
  readonly method: string;
  readonly pathname: string;
  readonly answer: CannedAnswer;
}

/**
 * A stand-in server on 127.0.0.1: answers the expected requests in order, checks each with the
 * spec checker, and reports (in `problems()`) any request not expected, not in the spec, or any
 * expectation left unused.
 */
export async function startStandIn(check: (request: SeenRequest) => string[]): Promise<{
  readonly url: string;
  readonly port: number;
  expect(expectation: Expectation): void;
  readonly seen: SeenRequest[];
  problems(): string[];
  close(): Promise<void>;
}> {
  const queue: Expectation[] = [];
  const seen: SeenRequest[] = [];
  const problems: string[] = [];
  const server = createServer((request, response) => {
    void readBody(request).then(async (body) => {
      const url = new URL(request.url ?? "/", "http://stand-in");
      const seenRequest: SeenRequest = {
        method: request.method ?? "",
        pathname: url.pathname,
        query: url.searchParams,
        headers: Object.fromEntries(
          Object.entries(request.headers).map(([key, value]) => [
            key,
            Array.isArray(value) ? value.join(",") : (value ?? ""),
          ]),
        ),
        body: body === "" ? undefined : body,
      };
      seen.push(seenRequest);
      problems.push(...check(seenRequest));
      const next = queue.shift();
      if (
        next === undefined ||
        next.method !== seenRequest.method ||
        next.pathname !== seenRequest.pathname
      ) {
        problems.push(`unexpected request ${seenRequest.method} ${seenRequest.pathname}`);
        response.writeHead(500).end("unexpected request");
        return;
      }
      if (next.answer.delayMs !== undefined)
        await new Promise((resolve) => setTimeout(resolve, next.answer.delayMs));
      if (response.destroyed) return;
      response
        .writeHead(next.answer.status, { "content-type": next.answer.contentType ?? "application/json" })
        .end(next.answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    expect: (expectation) => queue.push(expectation),
    seen,
    problems: () => [
      ...problems,
      ...queue.map((left) => `expected but not called: ${left.method} ${left.pathname}`),
    ],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = "";
  request.setEncoding("utf8");
  for await (const chunk of request) body += chunk as string;
  return body;
}
