import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

// An Argo CD API server stand-in. Every request is checked against the official swagger
// (method + path template, declared query parameters, body schema) and every answer it sends
// against the schema of that status; whatever does not match is a problem that fails the test.

const swaggerUrl = new URL("../../../../shared/contracts/argocd-swagger.json", import.meta.url);

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
    // Refs in the swagger are document-relative: rewrite them to the schema registered above.
    const rebased = JSON.parse(JSON.stringify(schema).replaceAll('"#/definitions/', '"argocd#/definitions/'));
    validate = ajv.compile(rebased);
    validators.set(schema, validate);
  }
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message ?? ""}`);
}

const routes = Object.entries(swagger.paths).flatMap(([template, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({
    method: method.toUpperCase(),
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "([^/]+)")}$`),
    names: [...template.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] as string),
    operation,
  })),
);

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

  const send = (response: ServerResponse, operation: SwaggerOperation | undefined, answer: StandInAnswer) => {
    const schema =
      operation?.responses[String(answer.status)]?.schema ??
      (answer.status === 200 ? undefined : operation?.responses.default?.schema);
    if (operation !== undefined && schema === undefined) {
      problems.push(`${operation.operationId}: the spec has no response ${answer.status}`);
    } else if (schema !== undefined) {
      for (const error of schemaErrors(schema, answer.body)) {
        problems.push(`${operation?.operationId} response ${answer.status}: ${error}`);
      }
    }
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
      const route = routes.find(
        (candidate) => candidate.method === method && candidate.pattern.test(url.pathname),
      );
      if (route === undefined) {
        problems.push(`${method} ${url.pathname} is not in the Argo CD swagger`);
        send(response, undefined, { status: 404, body: runtimeError(5, "Not Found") });
        return;
      }
      const operation = route.operation;
      const id = operation.operationId;
      const match = route.pattern.exec(url.pathname) ?? [];
      const pathParams = Object.fromEntries(
        route.names.map((name, index) => [name, decodeURIComponent(match[index + 1] ?? "")]),
      );
      const declared = new Map((operation.parameters ?? []).map((parameter) => [parameter.name, parameter]));
      for (const key of new Set(url.searchParams.keys())) {
        if (declared.get(key)?.in !== "query") problems.push(`${id}: query parameter ${key} is not declared`);
      }
      const text = Buffer.concat(chunks).toString("utf8");
      const bodyParameter = (operation.parameters ?? []).find((parameter) => parameter.in === "body");
      let body: unknown;
      if (bodyParameter === undefined) {
        if (text !== "") problems.push(`${id}: a body was sent to an operation that takes none`);
      } else if (text === "") {
        if (bodyParameter.required === true) problems.push(`${id}: the required body is missing`);
      } else {
        if (!String(request.headers["content-type"]).startsWith("application/json")) {
          problems.push(`${id}: body sent as ${request.headers["content-type"]}, not application/json`);
        }
        try {
          body = JSON.parse(text);
          for (const error of schemaErrors(bodyParameter.schema ?? {}, body))
            problems.push(`${id} body: ${error}`);
        } catch {
          problems.push(`${id}: the body is not JSON`);
        }
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
      if (!routes.some((route) => route.operation.operationId === operationId)) {
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
