import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// shared/ sits beside the repository clone (here /work/shared beside /work/main).
const specUrl = new URL("../../../../shared/contracts/opa-rest-api.md", import.meta.url);

/** What the OPA REST API spec says, read from contracts/opa-rest-api.md (not hand-copied). */
export interface OpaSpec {
  /** Query parameters of the Data API (`pretty`, `metrics`, ...). */
  readonly dataParams: ReadonlySet<string>;
  /** Keys of a Data API response (`result`, `decision_id`, ...). */
  readonly responseKeys: ReadonlySet<string>;
  /** Top-level error codes (`internal_error`, `invalid_parameter`, ...). */
  readonly errorCodes: ReadonlySet<string>;
  /** Query parameters of `GET /health`. */
  readonly healthParams: ReadonlySet<string>;
}

/** Names in backticks, leaving out parenthesised remarks (`explain` (`notes`|`full`) → explain). */
function backticked(text: string): Set<string> {
  const names = text.replace(/\([^)]*\)/g, "").matchAll(/`([a-z_-]+)(?:=[^`]*)?`/g);
  return new Set([...names].map((match) => match[1] as string));
}

/** The bullet or sentence starting with `start`, up to the next bullet or blank line. */
function paragraph(text: string, start: string): string {
  const lines = text.split("\n");
  const first = lines.findIndex((line) => line.startsWith(start));
  if (first === -1) throw new Error(`contracts/opa-rest-api.md has no line starting with "${start}"`);
  const rest = lines.slice(first + 1);
  const end = rest.findIndex((line) => line.trim() === "" || line.startsWith("* "));
  return [lines[first], ...rest.slice(0, end === -1 ? rest.length : end)].join(" ");
}

export async function loadOpaSpec(): Promise<OpaSpec> {
  const text = await readFile(specUrl, "utf8");
  for (const needle of [
    "POST /v1/data/{path:.+}",
    '"input": ...',
    "**Omitted entirely when the document is undefined**",
  ]) {
    if (!text.includes(needle)) throw new Error(`contracts/opa-rest-api.md no longer says ${needle}`);
  }
  const table = text.slice(text.indexOf("| key | meaning |"), text.indexOf("Exact examples from the docs"));
  const codes = paragraph(text, "`types.go` `ErrorV1{code, message, errors[]}`");
  return {
    dataParams: backticked(paragraph(text, "* Query parameters:").split("`GET /v1/data")[0] ?? ""),
    responseKeys: new Set([...table.matchAll(/^\| `([a-z_]+)` \|/gm)].map((match) => match[1] as string)),
    errorCodes: backticked(codes.slice(codes.indexOf("top-level codes:"))),
    healthParams: backticked(paragraph(text, "* Query params:")),
  };
}

/** OPA's error body (`ErrorV1`). */
export interface OpaErrorBody {
  readonly code: string;
  readonly message: string;
  readonly errors?: readonly { code: string; message: string }[];
}

/** How the stand-in answers one Data API request. */
export type StandInAnswer =
  /** 200; `result` absent means the document is undefined (`{}`). */
  | { readonly status: 200; readonly result?: unknown; readonly delayMs?: number }
  /** An error status with OPA's error body. */
  | { readonly status: 400 | 401 | 404 | 500; readonly error: OpaErrorBody; readonly delayMs?: number }
  /** Drop the connection without answering. */
  | { readonly reset: true };

/** One request the test expects, and how to answer it. */
export interface Expectation {
  /** Package path with `/` (`selfheal/decision`). */
  readonly path: string;
  /** Compute the answer from the request's `input`. */
  readonly answer: (input: unknown) => StandInAnswer | Promise<StandInAnswer>;
  /** How often it may be used; `"any"` means at least once. @default 1 */
  readonly times?: number | "any";
}

export interface StandInOptions {
  /** Add a `decision_id` to every Data API answer, as OPA with decision logging does. */
  readonly decisionLogging?: boolean;
  /** Require `Authorization: Bearer <token>` (OPA's `--authentication=token`); else 401. */
  readonly token?: string;
  /** Status of `GET /health`: 200 `{}` or 500 with OPA's message. @default 200 */
  readonly health?: 200 | 500;
}

/** A stand-in for OPA's REST API on 127.0.0.1 that records anything the spec does not define. */
export interface OpaStandIn {
  readonly url: string;
  /** TCP connections accepted so far. */
  readonly connections: () => number;
  /** Data API requests received so far, with their bodies. */
  readonly requests: { path: string; body: unknown; authorization: string | undefined }[];
  /** `/health` requests received so far, with their query. */
  readonly healthChecks: string[];
  expect(expectation: Expectation): void;
  /** Throws on a request the spec does not define, a malformed one, or an unused expectation. */
  verify(): void;
  close(): Promise<void>;
}

interface Pending {
  readonly expectation: Expectation;
  used: number;
}

export async function startOpaStandIn(spec: OpaSpec, options: StandInOptions = {}): Promise<OpaStandIn> {
  const violations: string[] = [];
  const expectations: Pending[] = [];
  const requests: OpaStandIn["requests"] = [];
  const healthChecks: string[] = [];
  let connections = 0;

  const send = (response: ServerResponse, status: number, body: Record<string, unknown>) => {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
    });
    response.end(text);
  };
  const sendError = (response: ServerResponse, status: number, error: OpaErrorBody) => {
    if (!spec.errorCodes.has(error.code))
      violations.push(`stand-in misused: error code ${error.code} is not in the spec`);
    send(response, status, { ...error });
  };
  const refuse = (request: IncomingMessage, response: ServerResponse, why: string) => {
    violations.push(`${request.method} ${request.url}: ${why}`);
    sendError(response, 404, { code: "resource_not_found", message: why });
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://stand-in");
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");

    if (url.pathname === "/health") {
      if (request.method !== "GET") return refuse(request, response, "only GET /health is defined");
      for (const key of url.searchParams.keys()) {
        if (!spec.healthParams.has(key)) violations.push(`GET /health: unknown query parameter ${key}`);
      }
      healthChecks.push(url.search);
      const healthy = (options.health ?? 200) === 200;
      return send(response, healthy ? 200 : 500, healthy ? {} : { error: "not all plugins in OK state" });
    }
    const match = /^\/v1\/data\/(.+)$/.exec(url.pathname);
    if (match === null) return refuse(request, response, "not a path of the OPA REST API we use");
    if (request.method !== "POST") return refuse(request, response, "the adapter must POST to the Data API");
    for (const key of url.searchParams.keys()) {
      if (!spec.dataParams.has(key)) violations.push(`POST ${url.pathname}: unknown query parameter ${key}`);
    }
    if (!(request.headers["content-type"] ?? "").startsWith("application/json")) {
      violations.push(`POST ${url.pathname}: content-type ${request.headers["content-type"]} is not JSON`);
    }
    if (options.token !== undefined && request.headers.authorization !== `Bearer ${options.token}`) {
      requests.push({
        path: match[1] as string,
        body: undefined,
        authorization: request.headers.authorization,
      });
      return sendError(response, 401, {
        code: "unauthorized",
        message: "request rejected by administrative policy",
      });
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      violations.push(`POST ${url.pathname}: malformed JSON body`);
      return sendError(response, 400, { code: "invalid_parameter", message: "body contains malformed JSON" });
    }
    const path = match[1] as string;
    requests.push({ path, body, authorization: request.headers.authorization });
    if (typeof body !== "object" || body === null || Array.isArray(body) || !Object.hasOwn(body, "input")) {
      violations.push(`POST ${url.pathname}: body must be {"input": ...}`);
    } else if (Object.keys(body).length !== 1) {
      violations.push(`POST ${url.pathname}: body has keys besides "input": ${Object.keys(body).join(", ")}`);
    }
    const pending = expectations.find(
      (candidate) =>
        candidate.expectation.path === path &&
        (candidate.expectation.times === "any" || candidate.used < (candidate.expectation.times ?? 1)),
    );
    if (pending === undefined) return refuse(request, response, "no expectation left for this request");
    pending.used++;
    const answer = await pending.expectation.answer((body as { input?: unknown }).input);
    if ("reset" in answer) {
      request.socket.destroy();
      return;
    }
    if (answer.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (response.destroyed) return;
    if (answer.status !== 200) return sendError(response, answer.status, answer.error);
    const out: Record<string, unknown> = {};
    if ("result" in answer) out.result = answer.result;
    if (options.decisionLogging === true) out.decision_id = randomUUID();
    for (const key of Object.keys(out)) {
      if (!spec.responseKeys.has(key))
        violations.push(`stand-in misused: response key ${key} is not in the spec`);
    }
    send(response, 200, out);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      violations.push(`stand-in failed: ${String(error)}`);
      response.destroy();
    });
  });
  server.on("connection", () => {
    connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    requests,
    healthChecks,
    expect(expectation) {
      expectations.push({ expectation, used: 0 });
    },
    verify() {
      const unused = expectations
        .filter(({ expectation, used }) =>
          expectation.times === "any" ? used === 0 : used < (expectation.times ?? 1),
        )
        .map(
          ({ expectation, used }) =>
            `expectation for ${expectation.path} used ${used} of ${expectation.times ?? 1} times`,
        );
      const problems = [...violations, ...unused];
      if (problems.length > 0) throw new Error(`OPA stand-in:\n${problems.join("\n")}`);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
