import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { argocdSwaggerChecker } from "@selfheal/adapter-argocd/testing";

// A checking proxy in front of the sync agent: every request that goes through it must be an
// operation of the official Argo CD swagger (method + path, declared query parameters, body
// schema) and every answer the agent sends must match the schema of its status. Whatever does
// not is a problem, and `close()` fails the test. The checks are those of adapter-argocd's
// stand-in (@selfheal/adapter-argocd/testing).

const swaggerUrl = new URL("../../../shared/contracts/argocd-swagger.json", import.meta.url);

const swagger = argocdSwaggerChecker(JSON.parse(readFileSync(swaggerUrl, "utf8")));

/** Validate `value` against a swagger schema (with `#/definitions/...` refs); the errors, or none. */
export function schemaErrors(schema: object, value: unknown): string[] {
  return swagger.schemaErrors(schema, value);
}

/** The schema of a named swagger definition, for checks made outside the proxy. */
export function definition(name: string): object {
  return swagger.definition(name);
}

/** One exchange that went through the proxy. */
export interface Exchange {
  readonly operationId: string;
  readonly query: URLSearchParams;
  readonly requestBody: unknown;
  readonly status: number;
  readonly body: unknown;
}

export interface SwaggerProxy {
  readonly url: string;
  readonly exchanges: Exchange[];
  readonly problems: string[];
  /** Stop; throws when a request or an answer broke the swagger, or nothing went through. */
  close(): Promise<void>;
}

/** A proxy on 127.0.0.1 forwarding to `target` and checking both directions. */
export async function startSwaggerProxy(target: string): Promise<SwaggerProxy> {
  const exchanges: Exchange[] = [];
  const problems: string[] = [];

  const forward = async (request: IncomingMessage, text: string, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://proxy");
    const method = request.method ?? "GET";
    const route = swagger.route(method, url.pathname);
    const id = route?.operation.operationId ?? `${method} ${url.pathname}`;
    let requestBody: unknown;
    if (route === undefined) problems.push(`${method} ${url.pathname} is not in the Argo CD swagger`);
    else {
      const check = swagger.checkRequest(route.operation, url.searchParams, text);
      requestBody = check.body;
      problems.push(...check.problems);
    }
    const headers: Record<string, string> = {};
    for (const name of ["content-type", "authorization"]) {
      const value = request.headers[name];
      if (typeof value === "string") headers[name] = value;
    }
    const answer = await fetch(new URL(url.pathname + url.search, target), {
      method,
      headers,
      ...(text === "" ? {} : { body: text }),
    });
    const answerText = await answer.text();
    let body: unknown;
    try {
      body = JSON.parse(answerText);
    } catch {
      problems.push(
        `${id} answered ${answer.status} with a body that is not JSON: ${answerText.slice(0, 200)}`,
      );
    }
    if (route !== undefined) problems.push(...swagger.checkResponse(route.operation, answer.status, body));
    exchanges.push({ operationId: id, query: url.searchParams, requestBody, status: answer.status, body });
    response.writeHead(answer.status, {
      "content-type": answer.headers.get("content-type") ?? "application/json",
    });
    response.end(answerText);
  };

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      forward(request, Buffer.concat(chunks).toString("utf8"), response).catch((error: unknown) => {
        problems.push(`proxy: ${String(error)}`);
        response.destroy();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    exchanges,
    problems,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const all = [...problems, ...(exchanges.length === 0 ? ["nothing went through the proxy"] : [])];
      if (all.length > 0) throw new Error(`Argo CD swagger check:\n${all.join("\n")}`);
    },
  };
}
