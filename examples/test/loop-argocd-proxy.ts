import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

// A checking proxy in front of the sync agent: every request that goes through it must be an
// operation of the official Argo CD swagger (method + path, declared query parameters, body
// schema) and every answer the agent sends must match the schema of its status. Whatever does
// not is a problem, and `close()` fails the test. Same approach as adapter-argocd's stand-in.

const swaggerUrl = new URL("../../../shared/contracts/argocd-swagger.json", import.meta.url);

interface SwaggerParameter {
  readonly name: string;
  readonly in: "path" | "query" | "body" | "header";
  readonly required?: boolean;
  readonly schema?: object;
}
interface SwaggerOperation {
  readonly operationId: string;
  readonly parameters?: readonly SwaggerParameter[];
  readonly responses: Readonly<Record<string, { readonly schema?: object }>>;
}
interface Swagger {
  readonly paths: Readonly<Record<string, Readonly<Record<string, SwaggerOperation>>>>;
  readonly definitions: Readonly<Record<string, object>>;
}

const swagger = JSON.parse(readFileSync(swaggerUrl, "utf8")) as Swagger;
// ajv-formats is CommonJS: its default export arrives wrapped under `default`.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: "argocd", definitions: swagger.definitions });
const validators = new Map<object, ValidateFunction>();

/** Validate `value` against a swagger schema (with `#/definitions/...` refs); the errors, or none. */
export function schemaErrors(schema: object, value: unknown): string[] {
  let validate = validators.get(schema);
  if (validate === undefined) {
    const rebased = JSON.parse(JSON.stringify(schema).replaceAll('"#/definitions/', '"argocd#/definitions/'));
    validate = ajv.compile(rebased);
    validators.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message ?? ""}`);
}

/** The schema of a named swagger definition, for checks made outside the proxy. */
export function definition(name: string): object {
  return { $ref: `#/definitions/${name}` };
}

const routes = Object.entries(swagger.paths).flatMap(([template, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({
    method: method.toUpperCase(),
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "([^/]+)")}$`),
    operation,
  })),
);

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
    const route = routes.find(
      (candidate) => candidate.method === method && candidate.pattern.test(url.pathname),
    );
    const id = route?.operation.operationId ?? `${method} ${url.pathname}`;
    if (route === undefined) problems.push(`${method} ${url.pathname} is not in the Argo CD swagger`);
    const parameters = route?.operation.parameters ?? [];
    for (const key of new Set(url.searchParams.keys())) {
      if (!parameters.some((parameter) => parameter.in === "query" && parameter.name === key)) {
        problems.push(`${id}: query parameter ${key} is not declared`);
      }
    }
    const bodyParameter = parameters.find((parameter) => parameter.in === "body");
    let requestBody: unknown;
    if (text !== "") {
      try {
        requestBody = JSON.parse(text);
      } catch {
        problems.push(`${id}: the request body is not JSON`);
      }
      if (bodyParameter === undefined)
        problems.push(`${id}: a body was sent to an operation that takes none`);
      else
        for (const error of schemaErrors(bodyParameter.schema ?? {}, requestBody))
          problems.push(`${id} body: ${error}`);
    } else if (bodyParameter?.required === true) {
      problems.push(`${id}: the required body is missing`);
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
    if (route !== undefined) {
      const responses = route.operation.responses;
      const schema =
        responses[String(answer.status)]?.schema ??
        (answer.status === 200 ? undefined : responses.default?.schema);
      if (schema === undefined) problems.push(`${id}: the swagger has no response ${answer.status}`);
      else
        for (const error of schemaErrors(schema, body))
          problems.push(`${id} response ${answer.status}: ${error}`);
    }
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
