import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  createRequestListener,
  type RequestListenerOptions,
  type Signal,
  type SignalSource,
  StoreError,
  silentLogger,
} from "@selfheal/core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type AlertmanagerWebhookSettings, alertmanagerWebhook } from "../src/index.js";
import { contractUrl } from "./contract-files.js";

const exampleUrl = contractUrl("alertmanager-webhook-example.json");
let exampleText: string;

beforeAll(async () => {
  exampleText = await readFile(exampleUrl, "utf8");
});

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

interface Harness {
  readonly url: string;
  readonly accepted: { signals: readonly Signal[]; source: SignalSource }[];
}

async function start(
  settings: AlertmanagerWebhookSettings = {},
  accept: RequestListenerOptions["accept"] = async () => {},
): Promise<Harness> {
  const accepted: Harness["accepted"] = [];
  const listener = createRequestListener({
    sources: [alertmanagerWebhook(settings)],
    accept: async (signals, source, rejected) => {
      accepted.push({ signals, source });
      await accept(signals, source, rejected);
    },
    accepting: () => true,
    health: () => ({ ok: true }),
    readiness: async () => ({ ready: true, checks: {} }),
    logger: silentLogger,
  });
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, accepted };
}

/** POST as Alertmanager does: JSON from Go's encoder (trailing newline), its User-Agent. */
function deliver(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/webhook/alertmanager`, {
    method: "POST",
    body: body.endsWith("\n") ? body : `${body}\n`,
    headers: { "content-type": "application/json", "user-agent": "Alertmanager/0.34.0", ...headers },
  });
}

function edited(edit: (payload: { alerts: Record<string, unknown>[] } & Record<string, unknown>) => void) {
  const payload = JSON.parse(exampleText) as { alerts: Record<string, unknown>[] } & Record<string, unknown>;
  edit(payload);
  return JSON.stringify(payload);
}

async function errorOf(response: Response) {
  return (
    (await response.json()) as { error: { status: number; code: string; message: string; path?: string } }
  ).error;
}

describe("Alertmanager webhook over HTTP", () => {
  it("accepts the contract example and records both alerts", async () => {
    const { url, accepted } = await start();
    const response = await deliver(url, exampleText);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "accepted", signals: 2 });
    expect(accepted).toHaveLength(1);
    expect(accepted[0]?.source.name).toBe("alertmanager");
    expect(accepted[0]?.signals.map((signal) => [signal.status, signal.fingerprint, signal.endsAt])).toEqual([
      ["firing", "5c2a8e0f3b7d41a9", undefined],
      ["resolved", "e41f07b2c9a36d58", "2026-08-20T10:19:00.481Z"],
    ]);
  });

  it("answers 400 naming a wrong payload version", async () => {
    const { url, accepted } = await start();
    const response = await deliver(
      url,
      edited((payload) => {
        payload.version = "3";
      }),
    );
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error).toMatchObject({ status: 400, code: "bad_request", path: "version" });
    expect(error.message).toContain('"3"');
    expect(accepted).toHaveLength(0);
  });

  it("accepts the valid alert beside one missing a field, and answers the JSON path of the other", async () => {
    const { url, accepted } = await start();
    const response = await deliver(
      url,
      edited((payload) => {
        delete payload.alerts[1]?.fingerprint;
      }),
    );
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { rejections: { path: string; reason: string }[] };
    expect(answer).toMatchObject({ status: "accepted", signals: 1, rejected: 1 });
    expect(answer.rejections).toEqual([
      { index: 1, path: "alerts[1].fingerprint", reason: expect.stringContaining("missing") },
    ]);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]?.signals.map((signal) => signal.status)).toEqual(["firing"]);
  });

  it("answers 400 with the position of malformed JSON", async () => {
    const { url } = await start();
    const response = await deliver(url, exampleText.slice(0, 200));
    expect(response.status).toBe(400);
    expect((await errorOf(response)).message).toMatch(
      /malformed JSON at position \d+ \(line \d+, column \d+\)/,
    );
  });

  it("requires the configured bearer token", async () => {
    const { url, accepted } = await start({ auth: { bearer: "am-0123456789abcdef" } });
    const missing = await deliver(url, exampleText);
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer /);
    expect(accepted).toHaveLength(0);
    const right = await deliver(url, exampleText, { authorization: "Bearer am-0123456789abcdef" });
    expect(right.status).toBe(200);
  });

  it("answers 413 above maxBodyBytes", async () => {
    const { url, accepted } = await start({ maxBodyBytes: 512 });
    const response = await deliver(url, exampleText);
    expect(response.status).toBe(413);
    expect((await errorOf(response)).message).toContain("512 bytes");
    expect(accepted).toHaveLength(0);
  });

  it("answers 503 when the store cannot record, so Alertmanager retries", async () => {
    const { url } = await start({}, async () => {
      throw new StoreError("journal not writable");
    });
    const response = await deliver(url, exampleText);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).not.toBeNull();
  });
});
