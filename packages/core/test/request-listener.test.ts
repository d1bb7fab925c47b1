import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { BadInputError, StoreError } from "../src/errors/selfheal-error.js";
import { findJsonSyntaxError } from "../src/http/json-syntax-error.js";
import { createRequestListener, type RequestListenerOptions } from "../src/http/request-listener.js";
import type { Signal } from "../src/spec/signal.js";
import type { SignalSource, SignalSourceRoute } from "../src/spec/signal-source.js";
import type { LogFields, Logger } from "../src/util/logger.js";

/**
 * A tiny push source: `{ "version": 1, "items": [{ "name": "HighErrorRate" }] }` → one signal per
 * item. Anything else is a BadInputError with the JSON path of the problem.
 */
function testSource(route: Partial<Omit<SignalSourceRoute, "parse">> = {}): SignalSource & {
  seenHeaders: Readonly<Record<string, string>>[];
} {
  const seenHeaders: Readonly<Record<string, string>>[] = [];
  return {
    name: "test",
    seenHeaders,
    route: {
      path: "/hook",
      ...route,
      parse(body, context) {
        seenHeaders.push(context.headers);
        const payload = body as { version?: unknown; items?: unknown };
        if (payload.version !== 1) {
          throw new BadInputError(`unsupported payload version ${JSON.stringify(payload.version)}`, {
            path: "version",
          });
        }
        if (!Array.isArray(payload.items))
          throw new BadInputError("items must be an array", { path: "items" });
        return payload.items.map((item: { name?: unknown }, index): Signal => {
          if (typeof item.name !== "string") {
            throw new BadInputError("missing name", { path: `items[${index}].name` });
          }
          return {
            source: "test",
            dedupKey: `${item.name}-${index}`,
            status: "firing",
            alertname: item.name,
            service: "checkout",
            labels: {},
            annotations: {},
            fingerprint: `fp${index}`,
            startsAt: "2026-08-20T10:15:30.123Z",
            receivedAt: context.receivedAt.toISOString(),
          };
        });
      },
    },
  };
}

const validBody = JSON.stringify({ version: 1, items: [{ name: "HighErrorRate" }, { name: "PodRestarts" }] });

interface LogLine {
  readonly level: keyof Logger;
  readonly message: string;
  readonly fields: LogFields | undefined;
}

interface Harness {
  readonly url: string;
  readonly accepted: { signals: readonly Signal[]; source: SignalSource }[];
  readonly logs: LogLine[];
}

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function start(overrides: Partial<RequestListenerOptions> = {}): Promise<Harness> {
  const accepted: Harness["accepted"] = [];
  const logs: LogLine[] = [];
  const log =
    (level: keyof Logger) =>
    (message: string, fields?: LogFields): void => {
      logs.push({ level, message, fields });
    };
  const options: RequestListenerOptions = {
    sources: [testSource()],
    accepting: () => true,
    health: () => ({ ok: true }),
    readiness: async () => ({ ready: true, checks: { store: "ok" } }),
    logger: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    ...overrides,
    accept: async (signals, source, rejected) => {
      accepted.push({ signals, source });
      await overrides.accept?.(signals, source, rejected);
    },
  };
  const server = createServer(createRequestListener(options));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, accepted, logs };
}

function post(
  url: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
}

/** A body sent with `Transfer-Encoding: chunked` (no Content-Length). */
function chunked(url: string, chunks: readonly Uint8Array[], headers: Record<string, string> = {}) {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const init = {
    method: "POST",
    body,
    duplex: "half",
    headers: { "content-type": "application/json", ...headers },
  };
  return fetch(url, init as RequestInit);
}

async function errorOf(response: Response) {
  expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
  const body = (await response.json()) as {
    error: { status: number; code: string; message: string; path?: string };
  };
  expect(body.error.status).toBe(response.status);
  return body.error;
}

/** The next request the last started server receives, as the server sees it. */
function nextServerRequest(): Promise<{ request: IncomingMessage; response: ServerResponse }> {
  const server = servers.at(-1);
  if (server === undefined) throw new Error("no server started");
  return new Promise((resolve) =>
    server.once("request", (request, response) => resolve({ request, response })),
  );
}

describe("createRequestListener: source routes", () => {
  it("answers 200 only after accept has resolved", async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let called = () => {};
    const acceptCalled = new Promise<void>((resolve) => {
      called = resolve;
    });
    const { url, accepted } = await start({
      accept: async () => {
        called();
        await gate;
      },
    });
    let answered = false;
    const served = nextServerRequest();
    const pending = post(`${url}/hook`, validBody).then((response) => {
      answered = true;
      return response;
    });
    await acceptCalled;
    // While accept runs, the server has not begun its answer (checked on the server's side, so
    // no sleep is needed to give a premature answer time to arrive).
    const { response: serverResponse } = await served;
    await new Promise((resolve) => setImmediate(resolve));
    expect(serverResponse.headersSent).toBe(false);
    expect(answered).toBe(false);
    release();
    const response = await pending;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "accepted", signals: 2 });
    expect(accepted).toHaveLength(1);
    expect(accepted[0]?.signals.map((signal) => signal.alertname)).toEqual(["HighErrorRate", "PodRestarts"]);
    expect(accepted[0]?.source.name).toBe("test");
  });

  it("accepts a query string, a content type with parameters in any case, and a chunked body", async () => {
    const { url, accepted } = await start();
    const withCharset = await post(`${url}/hook?from=am`, validBody, {
      "content-type": "Application/JSON; Charset=UTF-8",
    });
    expect(withCharset.status).toBe(200);
    const bytes = new TextEncoder().encode(validBody);
    const response = await chunked(`${url}/hook`, [bytes.slice(0, 10), bytes.slice(10, 30), bytes.slice(30)]);
    expect(response.status).toBe(200);
    expect(accepted).toHaveLength(2);
  });

  it("gives the source the request headers, without credentials", async () => {
    const source = testSource({ auth: { bearer: "s3cret-token-value" } });
    const { url } = await start({ sources: [source] });
    const response = await post(`${url}/hook`, validBody, {
      authorization: "Bearer s3cret-token-value",
      "user-agent": "Alertmanager/0.34.0",
    });
    expect(response.status).toBe(200);
    expect(source.seenHeaders[0]?.["user-agent"]).toBe("Alertmanager/0.34.0");
    expect(source.seenHeaders[0]?.authorization).toBeUndefined();
  });

  it("answers 400 naming the position of malformed JSON", async () => {
    const { url, accepted } = await start();
    const response = await post(`${url}/hook`, '{"version": 1,\n "items": [}');
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe("bad_request");
    expect(error.message).toContain("position 26");
    expect(error.message).toContain("line 2, column 12");
    expect(error.message).toContain('unexpected "}"');
    const empty = await post(`${url}/hook`, "");
    expect(empty.status).toBe(400);
    expect((await errorOf(empty)).message).toContain("empty");
    expect(accepted).toHaveLength(0);
  });

  it("answers 400 naming a wrong payload version", async () => {
    const { url, accepted } = await start();
    const response = await post(`${url}/hook`, JSON.stringify({ version: 3, items: [] }));
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error).toMatchObject({ code: "bad_request", path: "version" });
    expect(error.message).toContain("version 3");
    expect(accepted).toHaveLength(0);
  });

  it("answers 400 with the JSON path of a missing field", async () => {
    const { url, accepted, logs } = await start();
    const response = await post(`${url}/hook`, JSON.stringify({ version: 1, items: [{ name: "A" }, {}] }));
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: "bad_request", path: "items[1].name" });
    expect(accepted).toHaveLength(0);
    expect(logs.some((line) => line.level === "warn" && line.fields?.errorPath === "items[1].name")).toBe(
      true,
    );
  });

  it("answers 413 when Content-Length is over the limit, and keeps serving", async () => {
    const { url, accepted } = await start({ sources: [testSource({ maxBodyBytes: 1024 })] });
    const response = await post(
      `${url}/hook`,
      JSON.stringify({ version: 1, pad: "x".repeat(5000), items: [] }),
    );
    expect(response.status).toBe(413);
    expect(response.headers.get("connection")).toBe("close");
    const error = await errorOf(response);
    expect(error.code).toBe("payload_too_large");
    expect(error.message).toContain("1024 bytes");
    // Far over the limit (and over what the server drains): the answer still arrives.
    const huge = await post(`${url}/hook`, new Uint8Array(4 * 1024 * 1024).fill(0x20));
    expect(huge.status).toBe(413);
    expect(accepted).toHaveLength(0);
    expect((await post(`${url}/hook`, validBody)).status).toBe(200);
  });

  it("answers 413 when a chunked body without Content-Length grows over the limit", async () => {
    const { url, accepted } = await start({ sources: [testSource({ maxBodyBytes: 1024 })] });
    const chunk = new Uint8Array(512).fill(0x20);
    const response = await chunked(
      `${url}/hook`,
      Array.from({ length: 8 }, () => chunk),
    );
    expect(response.status).toBe(413);
    const error = await errorOf(response);
    expect(error.code).toBe("payload_too_large");
    expect(error.message).toContain("1024 bytes");
    const big = await chunked(
      `${url}/hook`,
      Array.from({ length: 64 }, () => new Uint8Array(64 * 1024).fill(0x20)),
    );
    expect(big.status).toBe(413);
    expect(accepted).toHaveLength(0);
    expect((await post(`${url}/hook`, validBody)).status).toBe(200);
  });

  it("answers 415 naming a wrong content type or encoding", async () => {
    const { url, accepted } = await start();
    const text = await post(`${url}/hook`, validBody, { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    const error = await errorOf(text);
    expect(error.code).toBe("unsupported_media_type");
    expect(error.message).toContain('"text/plain"');
    expect(error.message).toContain("application/json");
    const latin1 = await post(`${url}/hook`, validBody, {
      "content-type": "application/json; charset=latin1",
    });
    expect(latin1.status).toBe(415);
    const gzip = await post(`${url}/hook`, validBody, { "content-encoding": "gzip" });
    expect(gzip.status).toBe(415);
    expect((await errorOf(gzip)).message).toContain("gzip");
    expect(accepted).toHaveLength(0);
  });

  it("answers 401 with WWW-Authenticate for a missing or wrong bearer token, never echoing it", async () => {
    const token = "am-webhook-token-0123456789";
    const { url, accepted } = await start({ sources: [testSource({ auth: { bearer: token } })] });

    const missing = await post(`${url}/hook`, validBody);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="selfheal"');
    const missingError = await errorOf(missing);
    expect(missingError.code).toBe("unauthorized");
    expect(missingError.message).toContain("Bearer");

    const wrongToken = "wrong-token-9876543210";
    const wrong = await post(`${url}/hook`, validBody, { authorization: `Bearer ${wrongToken}` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toContain('error="invalid_token"');
    const wrongText = await wrong.text();
    expect(wrongText).not.toContain(wrongToken);
    expect(wrongText).not.toContain(token);

    const wrongScheme = await post(`${url}/hook`, validBody, {
      authorization: `Basic ${Buffer.from(`x:${token}`).toString("base64")}`,
    });
    expect(wrongScheme.status).toBe(401);
    expect((await errorOf(wrongScheme)).message).toContain("requires Bearer");

    // A prefix of the token is not the token.
    const prefix = await post(`${url}/hook`, validBody, { authorization: `Bearer ${token.slice(0, -1)}` });
    expect(prefix.status).toBe(401);
    expect(accepted).toHaveLength(0);

    const right = await post(`${url}/hook`, validBody, { authorization: `bearer ${token}` });
    expect(right.status).toBe(200);
  });

  it("answers 401 for wrong Basic credentials, 200 for the right ones", async () => {
    const auth = { basic: { username: "alertmanager", password: "pa55:word" } };
    const { url, accepted } = await start({ sources: [testSource({ auth })] });
    const basic = (user: string, password: string) =>
      `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

    const wrong = await post(`${url}/hook`, validBody, { authorization: basic("alertmanager", "nope") });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toBe('Basic realm="selfheal", charset="UTF-8"');
    const error = await errorOf(wrong);
    expect(error.message).toContain("Basic");
    expect(error.message).not.toContain("nope");

    const missing = await post(`${url}/hook`, validBody);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toContain("Basic");
    expect(accepted).toHaveLength(0);

    const right = await post(`${url}/hook`, validBody, { authorization: basic("alertmanager", "pa55:word") });
    expect(right.status).toBe(200);
  });

  it("answers 405 with Allow for other methods on the route", async () => {
    const { url, accepted } = await start();
    const response = await fetch(`${url}/hook`);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
    const error = await errorOf(response);
    expect(error.code).toBe("method_not_allowed");
    expect(error.message).toContain("GET");
    const put = await fetch(`${url}/hook`, { method: "PUT", body: validBody });
    expect(put.status).toBe(405);
    expect(accepted).toHaveLength(0);
  });

  it("answers 404 JSON for an unknown path", async () => {
    const { url, accepted } = await start();
    const response = await post(`${url}/nope`, validBody);
    expect(response.status).toBe(404);
    const error = await errorOf(response);
    expect(error.code).toBe("not_found");
    expect(error.message).toContain("/nope");
    expect(accepted).toHaveLength(0);
  });

  it("answers 503 with Retry-After while not accepting", async () => {
    const { url, accepted } = await start({ accepting: () => false, retryAfterSeconds: 7 });
    const response = await post(`${url}/hook`, validBody);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("7");
    expect((await errorOf(response)).code).toBe("unavailable");
    expect(accepted).toHaveLength(0);
  });

  it("answers 503 (not 429) with Retry-After when accept fails with a retryable error", async () => {
    const { url, logs } = await start({
      accept: async () => {
        throw new StoreError("journal write failed: disk full", { adapter: "file-store" });
      },
    });
    const response = await post(`${url}/hook`, validBody);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("5");
    const error = await errorOf(response);
    expect(error.code).toBe("unavailable");
    expect(error.message).toContain("disk full");
    expect(logs.some((line) => line.level === "warn" && line.fields?.status === 503)).toBe(true);
  });

  it("answers 400 when accept refuses the signals for good, 500 on anything else", async () => {
    let failure: unknown = new BadInputError("service name too long", { path: "items[0]" });
    const { url, logs } = await start({
      accept: async () => {
        throw failure;
      },
    });
    const bad = await post(`${url}/hook`, validBody);
    expect(bad.status).toBe(400);
    expect(await errorOf(bad)).toMatchObject({ code: "bad_request", path: "items[0]" });

    failure = new TypeError("Cannot read properties of undefined");
    const broken = await post(`${url}/hook`, validBody);
    expect(broken.status).toBe(500);
    const error = await errorOf(broken);
    expect(error.code).toBe("internal");
    expect(error.message).not.toContain("Cannot read");
    expect(logs.some((line) => line.level === "error" && line.fields?.error === failure)).toBe(true);
  });

  it("survives a client that aborts its upload, without calling accept", async () => {
    const { url, accepted } = await start();
    const { port } = new URL(url);
    const served = nextServerRequest();
    const req = request({
      host: "127.0.0.1",
      port,
      path: "/hook",
      method: "POST",
      headers: { "content-type": "application/json", "content-length": "1000" },
    });
    req.on("error", () => {});
    req.write('{"version": 1, "items": [');
    // Abort once the server is reading the request's body; wait until it saw the abort.
    const { request: serverRequest } = await served;
    const closed = new Promise((resolve) => serverRequest.once("close", resolve));
    req.destroy();
    await closed;
    expect(accepted).toHaveLength(0);
    expect((await post(`${url}/hook`, validBody)).status).toBe(200);
  });
});

describe("createRequestListener: probes", () => {
  it("serves /healthz as 200 or 503", async () => {
    let ok = true;
    const { url } = await start({
      health: () => ({ ok, details: { journal: ok ? "writable" : "read-only" } }),
    });
    const healthy = await fetch(`${url}/healthz`);
    expect(healthy.status).toBe(200);
    expect(await healthy.json()).toEqual({ ok: true, details: { journal: "writable" } });
    ok = false;
    const sick = await fetch(`${url}/healthz`);
    expect(sick.status).toBe(503);
    expect(await sick.json()).toEqual({ ok: false, details: { journal: "read-only" } });
    expect((await fetch(`${url}/healthz`, { method: "HEAD" })).status).toBe(503);
    const wrongMethod = await fetch(`${url}/healthz`, { method: "POST", body: "{}" });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET, HEAD");
  });

  it("serves /readyz as 200 or 503, and 503 when the check itself fails", async () => {
    let readiness: RequestListenerOptions["readiness"] = async () => ({
      ready: true,
      checks: { store: "ok" },
    });
    const { url } = await start({ readiness: () => readiness() });
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { store: "ok" } });

    readiness = async () => ({ ready: false, checks: { store: "replaying journal" } });
    const notReady = await fetch(`${url}/readyz`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ ready: false, checks: { store: "replaying journal" } });

    readiness = async () => {
      throw new Error("store unreachable");
    };
    const failed = await fetch(`${url}/readyz`);
    expect(failed.status).toBe(503);
    expect(await failed.json()).toEqual({ ready: false, checks: { readiness: "failed: store unreachable" } });
  });
});

describe("createRequestListener: settings", () => {
  const base = {
    accept: async () => {},
    accepting: () => true,
    health: () => ({ ok: true }),
    readiness: async () => ({ ready: true, checks: {} }),
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  };

  it("refuses two sources on one path, reserved paths and empty credentials", () => {
    const other = { ...testSource(), name: "other" };
    expect(() => createRequestListener({ ...base, sources: [testSource(), other] })).toThrow(
      /"test" and "other" both want the route \/hook/,
    );
    expect(() => createRequestListener({ ...base, sources: [testSource({ path: "/healthz" })] })).toThrow(
      /reserved/,
    );
    expect(() => createRequestListener({ ...base, sources: [testSource({ path: "hook" })] })).toThrow(
      /must start with "\/"/,
    );
    expect(() => createRequestListener({ ...base, sources: [testSource({ auth: { bearer: "" } })] })).toThrow(
      BadInputError,
    );
    expect(() => createRequestListener({ ...base, sources: [testSource({ maxBodyBytes: 0 })] })).toThrow(
      /maxBodyBytes/,
    );
  });
});

describe("findJsonSyntaxError", () => {
  it("names the position, line and column of the first error", () => {
    const cases: [string, number, string][] = [
      ['{"a":}', 5, 'unexpected "}", expected a value'],
      ['{"a":1', 6, "unexpected end of input, expected ',' or '}'"],
      ["[1,2,]", 5, 'unexpected "]", expected a value'],
      ['{"a" 1}', 5, "expected ':' after the property name"],
      ['{"a":1}x', 7, "expected nothing after the JSON value"],
      ["[}", 1, "expected a value or ']'"],
      ['{"a":"x\n"}', 7, "unescaped control character"],
      ['"\\q"', 1, 'bad escape "\\q"'],
      ["{'a': 1}", 1, "expected a property name in double quotes or '}'"],
      ['{"a": 1,}', 8, "expected a property name in double quotes"],
      ["-", 1, "expected a digit"],
      ['"open', 0, "unterminated string"],
    ];
    for (const [text, position, description] of cases) {
      const problem = findJsonSyntaxError(text);
      expect(problem?.position, text).toBe(position);
      expect(problem?.description, text).toContain(description);
    }
    expect(findJsonSyntaxError('{\n  "a": tru\n}')).toMatchObject({ position: 9, line: 2, column: 8 });
  });

  it("finds nothing in valid JSON, however deeply nested", () => {
    for (const text of ['{"a":[1,-2.5e3,true,false,null,"\\u00e9\\n"]}', " [ ] ", '"x"', "0"]) {
      expect(JSON.parse(text)).toBeDefined();
      expect(findJsonSyntaxError(text), text).toBeUndefined();
    }
    const deep = `${"[".repeat(100_000)}${"]".repeat(99_999)}`;
    expect(findJsonSyntaxError(deep)?.position).toBe(deep.length);
  });
});
