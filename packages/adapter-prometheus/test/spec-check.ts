import { readFile } from "node:fs/promises";
import { Ajv } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { Agent, type Dispatcher } from "undici";
import { parse } from "yaml";
import { contractUrl } from "./contract-files.js";

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** One request the adapter sent, as the dispatcher saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly pathname: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

/** An undici dispatcher that records every request before sending it on. */
export function recordingDispatcher(): {
  dispatcher: Dispatcher;
  requests: SeenRequest[];
  close(): Promise<void>;
} {
  const requests: SeenRequest[] = [];
  const agent = new Agent();
  const dispatcher = agent.compose((dispatch) => (options, handler) => {
    const url = new URL(options.path, "http://placeholder");
    requests.push({
      method: options.method,
      pathname: url.pathname,
      query: url.searchParams,
      headers: headerRecord(options.headers),
      body: typeof options.body === "string" ? options.body : undefined,
    });
    return dispatch(options, handler);
  });
  return { dispatcher, requests, close: () => agent.close() };
}

function headerRecord(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(headers)) {
    for (let index = 0; index + 1 < headers.length; index += 2)
      out[String(headers[index]).toLowerCase()] = String(headers[index + 1]);
  } else if (typeof headers === "object" && headers !== null) {
    for (const [key, value] of Object.entries(headers)) out[key.toLowerCase()] = String(value);
  }
  return out;
}

const contracts = contractUrl("");

type Json = Record<string, unknown>;

function record(value: unknown, where: string): Json {
  if (typeof value !== "object" || value === null) throw new Error(`spec: ${where} is not an object`);
  return value as Json;
}

/** Checks requests against `prometheus-openapi-3.1.yaml`: path, method, parameter names, body type. */
export async function prometheusSpecChecker(): Promise<{
  check(request: SeenRequest): string[];
  validate(schemaName: string, value: unknown): string[];
}> {
  const spec = record(
    parse(await readFile(new URL("prometheus-openapi-3.1.yaml", contracts), "utf8")),
    "spec",
  );
  const paths = record(spec.paths, "paths");
  const schemas = record(record(spec.components, "components").schemas, "schemas");
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "prometheus", components: spec.components }, "prometheus");
  return {
    check(request) {
      const problems: string[] = [];
      const path = request.pathname.replace(/^\/api\/v1/, "");
      const operations = paths[path];
      if (!request.pathname.startsWith("/api/v1/") || operations === undefined)
        return [`${request.pathname}: not in the spec`];
      const operation = record(operations, path)[request.method.toLowerCase()];
      if (operation === undefined) return [`${request.method} ${request.pathname}: method not in the spec`];
      const op = record(operation, `${path} ${request.method}`);
      let allowed: string[];
      let required: string[];
      let params: URLSearchParams;
      if (request.method === "POST") {
        if (request.headers["content-type"] !== "application/x-www-form-urlencoded") {
          problems.push(`POST ${path}: content-type ${request.headers["content-type"]}, spec wants a form`);
        }
        const content = record(record(op.requestBody, "requestBody").content, "content");
        const ref = String(
          record(record(content["application/x-www-form-urlencoded"], "form").schema, "schema").$ref,
        );
        const schema = record(schemas[ref.split("/").pop() ?? ""], ref);
        allowed = Object.keys(record(schema.properties, "properties"));
        required = (schema.required as string[] | undefined) ?? [];
        params = new URLSearchParams(request.body ?? "");
      } else {
        const parameters = (op.parameters as Json[] | undefined) ?? [];
        allowed = parameters.filter((p) => p.in === "query").map((p) => String(p.name));
        required = parameters.filter((p) => p.required === true).map((p) => String(p.name));
        params = request.query;
      }
      for (const name of params.keys())
        if (!allowed.includes(name)) problems.push(`${path}: parameter ${name} not in the spec`);
      for (const name of required)
        if (!params.has(name)) problems.push(`${path}: required parameter ${name} missing`);
      return problems;
    },
    validate(schemaName, value) {
      const validate = ajv.getSchema(`prometheus#/components/schemas/${schemaName}`);
      if (validate === undefined) return [`no schema ${schemaName}`];
      return validate(value)
        ? []
        : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message ?? ""}`);
    },
  };
}

/** Checks requests against `alertmanager-openapi.yaml`: path template, method, query names, JSON body schema. */
export async function alertmanagerSpecChecker(): Promise<{ check(request: SeenRequest): string[] }> {
  const spec = record(parse(await readFile(new URL("alertmanager-openapi.yaml", contracts), "utf8")), "spec");
  const basePath = String(spec.basePath).replace(/\/$/, "");
  const paths = record(spec.paths, "paths");
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ $id: "alertmanager", definitions: spec.definitions }, "alertmanager");
  return {
    check(request) {
      if (!request.pathname.startsWith(`${basePath}/`)) return [`${request.pathname}: outside ${basePath}`];
      const path = request.pathname.slice(basePath.length);
      const template = Object.keys(paths).find((candidate) =>
        new RegExp(`^${candidate.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(path),
      );
      if (template === undefined) return [`${request.pathname}: not in the spec`];
      const item = record(paths[template], template);
      const operation = item[request.method.toLowerCase()];
      if (operation === undefined) return [`${request.method} ${template}: method not in the spec`];
      const parameters = [
        ...((item.parameters as Json[] | undefined) ?? []),
        ...((record(operation, template).parameters as Json[] | undefined) ?? []),
      ];
      const problems: string[] = [];
      const queryNames = parameters.filter((p) => p.in === "query").map((p) => String(p.name));
      for (const name of request.query.keys()) {
        if (!queryNames.includes(name)) problems.push(`${template}: query parameter ${name} not in the spec`);
      }
      const bodyParameter = parameters.find((p) => p.in === "body");
      if (bodyParameter !== undefined) {
        if (request.headers["content-type"] !== "application/json")
          problems.push(`${template}: body is not JSON`);
        const ref = String(record(bodyParameter.schema, "schema").$ref);
        const validate = ajv.getSchema(`alertmanager${ref}`);
        if (validate === undefined) return [`no schema ${ref}`];
        if (!validate(JSON.parse(request.body ?? "null"))) {
          for (const error of validate.errors ?? [])
            problems.push(`${template} body${error.instancePath} ${error.message ?? ""}`);
        }
      } else if (request.body !== undefined) {
        problems.push(`${request.method} ${template}: a body the spec does not define`);
      }
      return problems;
    },
  };
}
