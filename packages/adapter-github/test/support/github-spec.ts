import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

// ajv-formats is CommonJS: its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** One operation of GitHub's REST spec, matched against a request. */
export interface SpecOperation {
  readonly method: string;
  /** The path template, e.g. `/repos/{owner}/{repo}/pulls`. */
  readonly template: string;
  readonly operationId: string;
  /** Path parameters, decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly definition: JsonObject;
}

/**
 * GitHub's official OpenAPI description (`@octokit/openapi`, api.github.com), loaded once per
 * test file: it is 13 MB. OpenAPI 3.0 `nullable` is rewritten into JSON Schema so that ajv
 * checks it.
 */
export interface GithubSpec {
  /** The operation `method path` names, or undefined when the spec has none. */
  match(method: string, pathname: string): SpecOperation | undefined;
  /** Problems with a request's query and body; empty when it is as the spec says. */
  checkRequest(operation: SpecOperation, query: URLSearchParams, body: Json | undefined): string[];
  /** Problems with a response; empty when the spec declares this status with this body. */
  checkResponse(operation: SpecOperation, status: number, body: Json | undefined): string[];
  /** The example the spec gives for an operation's response, deep-copied. */
  example(operation: SpecOperation, status: number): Json | undefined;
  /** Problems with a value against a named component schema (`basic-error`). */
  checkComponent(name: string, value: Json): string[];
}

let cached: GithubSpec | undefined;

/** The spec, parsed on first use and kept for the rest of the test file. */
export function githubSpec(): GithubSpec {
  cached ??= loadSpec();
  return cached;
}

function loadSpec(): GithubSpec {
  const file = createRequire(import.meta.url).resolve("@octokit/openapi/generated/api.github.com.json");
  const spec = rewriteNullable(JSON.parse(readFileSync(file, "utf8")) as Json) as JsonObject;
  const components = asObject(spec.components);
  const paths = asObject(spec.paths);
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false });
  addFormats(ajv);
  ajv.addSchema({ $id: "gh", components }, "gh");
  const validators = new Map<string, ValidateFunction>();
  const routes = Object.keys(paths).map((template) => ({
    template,
    names: [...template.matchAll(/\{([^}]+)\}/g)].map((found) => found[1] as string),
    pattern: new RegExp(
      `^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "([^/]+)")}$`,
    ),
    literals: template.split("/").filter((part) => !part.startsWith("{")).length,
  }));

  const resolve = (value: Json | undefined): JsonObject => {
    const object = asObject(value);
    const ref = object.$ref;
    if (typeof ref !== "string") return object;
    const [, section, name] = /^#\/components\/([^/]+)\/(.+)$/.exec(ref) ?? [];
    return resolve(asObject(components[section ?? ""])[name ?? ""]);
  };
  const validate = (key: string, schema: Json, value: Json): string[] => {
    let validator = validators.get(key);
    if (validator === undefined) {
      validator = ajv.compile(asObject(rebase(schema)));
      validators.set(key, validator);
    }
    if (validator(value)) return [];
    return (validator.errors ?? [])
      .slice(0, 5)
      .map((error) => `${error.instancePath || "(root)"} ${error.message}`);
  };
  const responseOf = (operation: SpecOperation, status: number) => {
    const responses = asObject(operation.definition.responses);
    const declared = responses[String(status)];
    return declared === undefined ? undefined : resolve(declared);
  };

  return {
    match(method, pathname) {
      const lower = method.toLowerCase();
      const candidates = routes
        .filter((route) => asObject(paths[route.template])[lower] !== undefined)
        .map((route) => ({ route, found: route.pattern.exec(pathname) }))
        .filter((candidate) => candidate.found !== null)
        .sort((left, right) => right.route.literals - left.route.literals);
      const best = candidates[0];
      if (best?.found === undefined || best.found === null) return undefined;
      const params: Record<string, string> = {};
      best.route.names.forEach((name, index) => {
        params[name] = decodeURIComponent(best.found?.[index + 1] ?? "");
      });
      const definition = asObject(asObject(paths[best.route.template])[lower]);
      return {
        method: lower,
        template: best.route.template,
        operationId: String(definition.operationId),
        params,
        definition,
      };
    },

    checkRequest(operation, query, body) {
      const problems: string[] = [];
      const parameters = asArray(operation.definition.parameters).map(resolve);
      for (const parameter of parameters) {
        const name = String(parameter.name);
        const schema = parameter.schema ?? {};
        if (parameter.in === "path") {
          problems.push(
            ...validate(
              `${operation.operationId} path ${name}`,
              schema,
              coerce(schema, operation.params[name] ?? ""),
            ).map((p) => `path ${name}: ${p}`),
          );
        }
      }
      for (const [name, raw] of query) {
        const parameter = parameters.find((candidate) => candidate.in === "query" && candidate.name === name);
        if (parameter === undefined) {
          problems.push(`query parameter ${name} is not in the spec`);
          continue;
        }
        const schema = parameter.schema ?? {};
        problems.push(
          ...validate(`${operation.operationId} query ${name}`, schema, coerce(schema, raw)).map(
            (p) => `query ${name}: ${p}`,
          ),
        );
      }
      for (const parameter of parameters) {
        if (parameter.in === "query" && parameter.required === true && !query.has(String(parameter.name))) {
          problems.push(`query parameter ${String(parameter.name)} is required`);
        }
      }
      const requestBody =
        operation.definition.requestBody === undefined
          ? undefined
          : resolve(operation.definition.requestBody);
      if (requestBody === undefined) {
        if (body !== undefined) problems.push("the operation takes no request body");
        return problems;
      }
      if (body === undefined) {
        if (requestBody.required === true) problems.push("request body required");
        return problems;
      }
      const schema = asObject(asObject(requestBody.content)["application/json"]).schema;
      if (schema === undefined) return [...problems, "no application/json request body in the spec"];
      return [
        ...problems,
        ...validate(`${operation.operationId} request`, schema, body).map((p) => `body ${p}`),
      ];
    },

    checkResponse(operation, status, body) {
      const response = responseOf(operation, status);
      if (response === undefined) return [`status ${status} is not a response of ${operation.operationId}`];
      const schema = asObject(asObject(response.content)["application/json"]).schema;
      if (schema === undefined) return body === undefined ? [] : [`status ${status} has no body in the spec`];
      if (body === undefined) return [`status ${status} needs a body`];
      return validate(`${operation.operationId} ${status}`, schema, body).map(
        (p) => `response ${status} ${p}`,
      );
    },

    example(operation, status) {
      const response = responseOf(operation, status);
      const media = asObject(asObject(response?.content)["application/json"]);
      const examples = asObject(media.examples);
      const first = Object.values(examples)[0];
      const value = first === undefined ? media.example : resolve(first).value;
      return value === undefined ? undefined : structuredClone(value);
    },

    checkComponent(name, value) {
      return validate(`component ${name}`, { $ref: `#/components/schemas/${name}` }, value);
    },
  };
}

/** Point `#/components/...` references at the schema registered as `gh`. */
function rebase(value: Json): Json {
  if (Array.isArray(value)) return value.map(rebase);
  if (value === null || typeof value !== "object") return value;
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] =
      key === "$ref" && typeof item === "string" && item.startsWith("#/") ? `gh${item}` : rebase(item);
  }
  return out;
}

/** OpenAPI 3.0 `nullable: true` as JSON Schema: `null` is allowed too. */
function rewriteNullable(value: Json): Json {
  if (Array.isArray(value)) return value.map(rewriteNullable);
  if (value === null || typeof value !== "object") return value;
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    if (key !== "nullable") out[key] = rewriteNullable(item);
  }
  if (value.nullable !== true) return out;
  if (typeof out.type === "string" && out.$ref === undefined) {
    out.type = [out.type, "null"];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [out, { type: "null" }] };
}

function coerce(schema: Json, raw: string): Json {
  const type = asObject(schema).type;
  if ((type === "integer" || type === "number") && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (type === "boolean" && (raw === "true" || raw === "false")) return raw === "true";
  return raw;
}

function asObject(value: Json | undefined): JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? value : {};
}

function asArray(value: Json | undefined): Json[] {
  return Array.isArray(value) ? value : [];
}

export type { Json, JsonObject };
