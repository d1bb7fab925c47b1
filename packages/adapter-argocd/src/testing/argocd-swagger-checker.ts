import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { z } from "zod";

// ajv-formats is CommonJS: its default export arrives wrapped under `default`.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

/** A JSON Schema of the swagger, handed to ajv as it is. */
const JsonSchema = z.record(z.string(), z.unknown());

/** One parameter of a swagger operation (only the fields the checker reads). */
export const ArgocdSwaggerParameter = z.object({
  name: z.string(),
  in: z.enum(["path", "query", "body", "header"]),
  required: z.boolean().optional(),
  schema: JsonSchema.optional(),
});
export type ArgocdSwaggerParameter = z.infer<typeof ArgocdSwaggerParameter>;

/** One operation of the swagger (only the fields the checker reads). */
export const ArgocdSwaggerOperation = z.object({
  operationId: z.string().min(1),
  parameters: z.array(ArgocdSwaggerParameter).default([]),
  responses: z.record(z.string(), z.object({ schema: JsonSchema.optional() })),
});
export type ArgocdSwaggerOperation = z.infer<typeof ArgocdSwaggerOperation>;

/** The Argo CD API swagger (OpenAPI 2), as far as the checker reads it. */
export const ArgocdSwagger = z.object({
  /** Path template → lower-case method → operation. */
  paths: z.record(z.string(), z.record(z.string(), ArgocdSwaggerOperation)),
  definitions: z.record(z.string(), JsonSchema),
});
export type ArgocdSwagger = z.infer<typeof ArgocdSwagger>;

/** The operation a request names, found by {@link ArgocdSwaggerChecker.route}. */
export interface ArgocdSwaggerRoute {
  /** The operation of the swagger. */
  readonly operation: ArgocdSwaggerOperation;
  /** The path template's parameters, decoded: name → value. */
  readonly pathParams: Readonly<Record<string, string>>;
}

/** The outcome of {@link ArgocdSwaggerChecker.checkRequest}. */
export interface ArgocdRequestCheck {
  /** The body parsed as JSON; `undefined` when there was none or it was not JSON. */
  readonly body: unknown;
  /** What breaks the swagger, one line each; empty when the request is fine. */
  readonly problems: readonly string[];
}

/**
 * Checks requests to, and answers from, the Argo CD API against its official swagger: the
 * building block of stand-ins and checking proxies that fail a test on anything the swagger
 * does not define.
 */
export interface ArgocdSwaggerChecker {
  /** The operation for `method` (any case) on `pathname`, or `undefined` when the swagger has none. */
  route(method: string, pathname: string): ArgocdSwaggerRoute | undefined;
  /** Whether the swagger has an operation with this id. */
  hasOperation(operationId: string): boolean;
  /**
   * The problems of a request to `operation`: query parameters it does not declare, a body it
   * does not take, a required body missing, a body that is not JSON or breaks the body schema.
   * `body` is the raw request body, `""` for none.
   */
  checkRequest(operation: ArgocdSwaggerOperation, query: URLSearchParams, body: string): ArgocdRequestCheck;
  /**
   * The problems of an answer of `operation` with `status` and a parsed JSON `body`: a status
   * the swagger does not declare (its `default` response covers every status but 200), or a
   * body that breaks the status's schema.
   */
  checkResponse(operation: ArgocdSwaggerOperation, status: number, body: unknown): string[];
  /**
   * Validates `value` against a schema of the swagger (its `#/definitions/...` refs resolve to
   * the swagger's definitions); the errors, or none.
   */
  schemaErrors(schema: object, value: unknown): string[];
  /** The schema of the definition `name`, for checks made outside requests and answers. */
  definition(name: string): object;
}

/**
 * A checker for the swagger `document` (the parsed `argocd-swagger.json`). Throws when the
 * document is not a swagger the checker can read.
 */
export function argocdSwaggerChecker(document: unknown): ArgocdSwaggerChecker {
  const swagger = ArgocdSwagger.parse(document);
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "argocd", definitions: swagger.definitions });
  const validators = new Map<object, ValidateFunction>();

  const routes = Object.entries(swagger.paths).flatMap(([template, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "([^/]+)")}$`),
      names: [...template.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] ?? ""),
      operation,
    })),
  );

  const schemaErrors = (schema: object, value: unknown): string[] => {
    let validate = validators.get(schema);
    if (validate === undefined) {
      // Refs in the swagger are document-relative: rewrite them to the schema registered above.
      const rebased: unknown = JSON.parse(
        JSON.stringify(schema).replaceAll('"#/definitions/', '"argocd#/definitions/'),
      );
      validate = ajv.compile(JsonSchema.parse(rebased));
      validators.set(schema, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message ?? ""}`);
  };

  return {
    route(method, pathname) {
      const upper = method.toUpperCase();
      for (const candidate of routes) {
        if (candidate.method !== upper) continue;
        const match = candidate.pattern.exec(pathname);
        if (match === null) continue;
        const pathParams = Object.fromEntries(
          candidate.names.map((name, index) => [name, decodeURIComponent(match[index + 1] ?? "")]),
        );
        return { operation: candidate.operation, pathParams };
      }
      return undefined;
    },
    hasOperation: (operationId) => routes.some((route) => route.operation.operationId === operationId),
    checkRequest(operation, query, text) {
      const id = operation.operationId;
      const problems: string[] = [];
      for (const key of new Set(query.keys())) {
        if (!operation.parameters.some((parameter) => parameter.in === "query" && parameter.name === key)) {
          problems.push(`${id}: query parameter ${key} is not declared`);
        }
      }
      const bodyParameter = operation.parameters.find((parameter) => parameter.in === "body");
      let body: unknown;
      if (text === "") {
        if (bodyParameter?.required === true) problems.push(`${id}: the required body is missing`);
        return { body, problems };
      }
      let parsed = true;
      try {
        body = JSON.parse(text);
      } catch {
        parsed = false;
        problems.push(`${id}: the body is not JSON`);
      }
      if (bodyParameter === undefined)
        problems.push(`${id}: a body was sent to an operation that takes none`);
      else if (parsed) {
        for (const error of schemaErrors(bodyParameter.schema ?? {}, body))
          problems.push(`${id} body: ${error}`);
      }
      return { body, problems };
    },
    checkResponse(operation, status, body) {
      const id = operation.operationId;
      const schema =
        operation.responses[String(status)]?.schema ??
        (status === 200 ? undefined : operation.responses.default?.schema);
      if (schema === undefined) return [`${id}: the swagger has no response ${status}`];
      return schemaErrors(schema, body).map((error) => `${id} response ${status}: ${error}`);
    },
    schemaErrors,
    definition(name) {
      if (swagger.definitions[name] === undefined)
        throw new Error(`${name} is not a definition of the swagger`);
      return { $ref: `#/definitions/${name}` };
    },
  };
}
