import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { BadInputError } from "../src/errors/selfheal-error.js";
import { invalidUtf8Offset, parseJsonBody } from "../src/http/request-body.js";
import {
  createRequestListener,
  type RequestListenerOptions,
  type RequestRefusal,
} from "../src/http/request-listener.js";
import type { Signal } from "../src/spec/signal.js";
import type { RejectedItem, SignalSource } from "../src/spec/signal-source.js";
import { silentLogger } from "../src/util/logger.js";

/**
 * A push source that says what it rejects: `{ "items": [{ "name": "A" }, {}] }` → a signal for
 * each item with a name, a rejection for each without. Anything but an object is refused whole.
 */
const partialSource: SignalSource = {
  name: "partial",
  route: {
    path: "/hook",
    auth: { bearer: "intake-token-0123456789" },
    parse(body, context) {
      const items = (body as { items?: unknown }).items;
      if (!Array.isArray(items)) throw new BadInputError("items must be an array", { path: "items" });
      const signals: Signal[] = [];
      const rejected: RejectedItem[] = [];
      items.forEach((item: { name?: unknown }, index) => {
        if (typeof item.name !== "string") {
          rejected.push({
            index,
            path: `items[${index}].name`,
            reason: "missing name",
            fingerprint: `fp${index}`,
          });
          return;
        }
        signals.push({
          source: "partial",
          dedupKey: `${item.name}-${index}`,
          status: "firing",
          alertname: item.name,
          service: "checkout",
          labels: {},
          annotations: {},
          fingerprint: `fp${index}`,
          startsAt: "2026-08-20T10:15:30.123Z",
          receivedAt: context.receivedAt.toISOString(),
        });
      });
      return { signals, rejected };
    },
  },
};

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

interface Seen {
  readonly accepted: { signals: readonly Signal[]; rejected: readonly RejectedItem[] }[];
  readonly refused: RequestRefusal[];
}

async function start(overrides: Partial<RequestListenerOptions> = {}): Promise<{ url: string } & Seen> {
  const seen: Seen = { accepted: [], refused: [] };
  const server = createServer(
    createRequestListener({
      sources: [partialSource],
      accepting: () => true,
      health: () => ({ ok: true }),
      readiness: async () => ({ ready: true, checks: {} }),
      logger: silentLogger,
      accept: async (signals, _source, rejected) => {
        seen.accepted.push({ signals, rejected });
      },
      refused: async (refusal) => {
        seen.refused.push(refusal);
      },
      ...overrides,
    }),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, ...seen };
}

const authorized = { "content-type": "application/json", authorization: "Bearer intake-token-0123456789" };

function post(url: string, body: string | Uint8Array, headers: Record<string, string> = authorized) {
  return fetch(url, { method: "POST", body, headers });
}

describe("createRequestListener: partial deliveries", () => {
  it("accepts the valid items, hands the rejected ones to accept and answers 200 with both counts", async () => {
    const { url, accepted, refused } = await start();
    const response = await post(url, JSON.stringify({ items: [{}, { name: "HighErrorRate" }] }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: "accepted",
      signals: 1,
      rejected: 1,
      rejections: [{ index: 0, path: "items[0].name", reason: "missing name" }],
    });
    expect(accepted).toHaveLength(1);
    expect(accepted[0]?.signals.map((signal) => signal.alertname)).toEqual(["HighErrorRate"]);
    expect(accepted[0]?.rejected).toEqual([
      { index: 0, path: "items[0].name", reason: "missing name", fingerprint: "fp0" },
    ]);
    expect(refused).toEqual([]);
  });

  it("tells refused of whole deliveries refused after authentication, never of 401 or 405", async () => {
    const { url, accepted, refused } = await start();
    expect((await post(url, "{}", { "content-type": "application/json" })).status).toBe(401);
    expect((await fetch(url, { headers: authorized })).status).toBe(405);
    expect(refused).toEqual([]);
    expect((await post(url, JSON.stringify({ items: 3 }))).status).toBe(400);
    expect((await post(url, "{}", { ...authorized, "content-type": "text/plain" })).status).toBe(415);
    expect(refused.map((refusal) => [refusal.status, refusal.path])).toEqual([
      [400, "items"],
      [415, undefined],
    ]);
    expect(refused[1]?.reason).toContain("text/plain");
    expect(accepted).toEqual([]);
  });

  it("answers the same when recording a refusal fails", async () => {
    const { url } = await start({
      refused: async () => {
        throw new Error("store down");
      },
    });
    const response = await post(url, JSON.stringify({ items: 3 }));
    expect(response.status).toBe(400);
  });
});

describe("createRequestListener: UTF-8", () => {
  it("answers 400 naming the byte offset of bytes that are not UTF-8, and accepts nothing", async () => {
    const { url, accepted, refused } = await start();
    const prefix = Buffer.from('{"items": [{"name": "High');
    const body = Buffer.concat([prefix, Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
    const response = await post(url, body);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe("bad_request");
    expect(error.message).toContain(`byte offset ${prefix.length}`);
    expect(error.message).toContain("UTF-8");
    expect(accepted).toEqual([]);
    expect(refused.map((refusal) => refusal.status)).toEqual([400]);
  });

  it("still reads real UTF-8 and drops a leading byte order mark", () => {
    const text = '{"summary": "Fehlerquote über 5 % — 🔥"}';
    expect(parseJsonBody(Buffer.from(text))).toEqual({ ok: true, value: JSON.parse(text) });
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    expect(parseJsonBody(withBom)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it("finds the offset of each kind of malformed sequence", () => {
    const at = (...bytes: number[]) => invalidUtf8Offset(Uint8Array.from([0x61, 0x62, ...bytes]));
    expect(at(0x80)).toBe(2); // a lone continuation byte
    expect(at(0xc0, 0xaf)).toBe(2); // an overlong encoding of "/"
    expect(at(0xed, 0xa0, 0x80)).toBe(2); // a UTF-16 surrogate
    expect(at(0xe2, 0x82)).toBe(2); // cut short at the end
    expect(at(0xf4, 0x90, 0x80, 0x80)).toBe(2); // above U+10FFFF
    expect(at(0xe2, 0x82, 0xac, 0xff)).toBe(5); // "€" then a byte UTF-8 never uses
    expect(at(0xf0, 0x9f, 0x94, 0xa5)).toBe(6); // valid: the length
  });
});
