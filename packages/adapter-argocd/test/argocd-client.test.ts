import { type AddressInfo, createServer } from "node:net";
import { SelfHealError } from "@selfheal/core";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { ArgocdError, argocdClient } from "../src/index.js";
import { appModel, deploy, ourRevision, serveGet, serveSync } from "./argocd-app-model.js";
import { hold, runtimeError, type StandIn, startStandIn } from "./argocd-stand-in.js";

const token = "eyJhbGciOiJIUzI1NiJ9.c2VsZmhlYWwtdGVzdA.c2lnbmF0dXJlLXNlY3JldA";
const standIns: StandIn[] = [];
afterEach(async () => {
  for (const standIn of standIns.splice(0)) await standIn.close();
});

async function start(options: { token?: string } = { token }) {
  const standIn = await startStandIn(options);
  standIns.push(standIn);
  return standIn;
}

const fast = { retryDelayMs: 5, maxRetryDelayMs: 20 } as const;

async function rejection(promise: Promise<unknown>): Promise<ArgocdError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ArgocdError);
  return error as ArgocdError;
}

describe("argocdClient", () => {
  it("sends the bearer token and reads the application", async () => {
    const standIn = await start();
    const app = appModel();
    serveGet(standIn, app);
    const client = argocdClient({ url: standIn.url, token });
    const found = await client.getApplication("checkout");
    expect(found.status?.sync?.status).toBe("Synced");
    expect(standIn.requests[0]?.headers.authorization).toBe(`Bearer ${token}`);
    expect(standIn.requests[0]?.query.toString()).toBe("");
  });

  it("asks for a refresh with the refresh query parameter", async () => {
    const standIn = await start();
    serveGet(standIn, appModel());
    const client = argocdClient({ url: standIn.url, token, project: "shop" });
    await client.refresh("checkout", { hard: true });
    await client.getApplication("checkout", { refresh: "normal" });
    expect(standIn.requests.map((request) => request.query.get("refresh"))).toEqual(["hard", "normal"]);
    expect(standIn.requests[0]?.query.getAll("projects")).toEqual(["shop"]);
  });

  it("syncs to a revision without pruning by default", async () => {
    const standIn = await start();
    serveSync(standIn, appModel());
    const client = argocdClient({ url: standIn.url, token });
    const answered = await client.sync("checkout", { revision: ourRevision });
    expect(answered.metadata?.name).toBe("checkout");
    expect(standIn.requests[0]?.body).toEqual({ revision: ourRevision, prune: false, dryRun: false });
    await client.sync("checkout", { dryRun: true, prune: true });
    expect(standIn.requests[1]?.body).toEqual({ prune: true, dryRun: true });
  });

  it("retries 'another operation is already in progress' until it is accepted", async () => {
    const standIn = await start();
    serveSync(standIn, appModel(), (_request, attempt) =>
      attempt <= 2
        ? { status: 400, body: runtimeError(9, "another operation is already in progress") }
        : undefined,
    );
    const client = argocdClient({ url: standIn.url, token, ...fast });
    await client.sync("checkout", { revision: ourRevision });
    expect(standIn.requests).toHaveLength(3);
  });

  it("gives up on an operation in progress at the call's deadline, retryable", async () => {
    const standIn = await start();
    serveSync(standIn, appModel(), () => ({
      status: 400,
      body: runtimeError(9, "another operation is already in progress"),
    }));
    // Long enough for several tries even when each request is slow on a loaded machine.
    const client = argocdClient({ url: standIn.url, token, ...fast, retryForMs: 2000 });
    const error = await rejection(client.sync("checkout", { revision: ourRevision }));
    expect(error.kind).toBe("busy");
    expect(error.retryable).toBe(true);
    expect(error.status).toBe(400);
    expect(error.grpcCode).toBe(9);
    expect(standIn.requests.length).toBeGreaterThan(2);
  });

  it("does not retry another FailedPrecondition (the application is deleting)", async () => {
    const standIn = await start();
    serveSync(standIn, appModel(), () => ({ status: 400, body: runtimeError(9, "application is deleting") }));
    const client = argocdClient({ url: standIn.url, token, ...fast });
    const error = await rejection(client.sync("checkout"));
    expect(error.kind).toBe("invalid");
    expect(error.message).toContain("application is deleting");
    expect(standIn.requests).toHaveLength(1);
  });

  it("retries a 5xx, then answers", async () => {
    const standIn = await start();
    const app = appModel();
    let calls = 0;
    standIn.expect("ApplicationService_Get", () =>
      ++calls === 1
        ? { status: 503, body: runtimeError(14, "connection refused") }
        : { status: 200, body: {} },
    );
    const client = argocdClient({ url: standIn.url, token, ...fast });
    expect(await client.getApplication(app.name)).toEqual({});
    expect(calls).toBe(2);
  });

  it("explains a 401 clearly and never repeats the token", async () => {
    const standIn = await start();
    serveGet(standIn, appModel());
    const client = argocdClient({ url: standIn.url, token: "wrong-token-value-12345", ...fast });
    const error = await rejection(client.getApplication("checkout"));
    expect(error.kind).toBe("unauthorized");
    expect(error.status).toBe(401);
    expect(error.retryable).toBe(false);
    expect(error.adapter).toBe("argocd");
    expect(error.operation).toBe("getApplication");
    expect(error.url).toBe(`${standIn.url}/api/v1/applications/checkout`);
    expect(error.message).toMatch(/token is missing, expired or invalid/);
    expect(JSON.stringify(error.toJSON())).not.toContain("wrong-token-value-12345");
    expect(standIn.requests).toHaveLength(1);
    // The handler was never reached; mark the expectation used by a call with the right token.
    await argocdClient({ url: standIn.url, token }).getApplication("checkout");
  });

  it("names the application on 404, and explains 403", async () => {
    const standIn = await start();
    serveGet(standIn, appModel());
    const client = argocdClient({ url: standIn.url, token, project: "shop" });
    const missing = await rejection(client.getApplication("payments"));
    expect(missing.kind).toBe("not_found");
    expect(missing.message).toContain('application "payments" not found');
    const forbiddenStandIn = await start();
    forbiddenStandIn.expect("ApplicationService_Get", () => ({
      status: 403,
      body: runtimeError(7, "permission denied"),
    }));
    const forbidden = await rejection(
      argocdClient({ url: forbiddenStandIn.url, token }).getApplication("payments"),
    );
    expect(forbidden.kind).toBe("forbidden");
    expect(forbidden.message).toContain("also answers 403 for an application that does not exist");
  });

  it("rejects a 200 that is not an Application", async () => {
    const standIn = await start();
    standIn.expect("ApplicationService_Get", () => ({
      status: 200,
      body: { status: { sync: { status: 3 } } },
    }));
    // The stand-in checks its own answers too: this one breaks the spec on purpose.
    const error = await rejection(argocdClient({ url: standIn.url, token }).getApplication("checkout"));
    expect(error.kind).toBe("bad_response");
    standIn.problems.splice(0);
  });

  it("reports a connection failure as retryable, after retrying", async () => {
    // A server that accepts each connection and drops it at once: every attempt fails, and
    // counting connections shows the client tried again.
    let connections = 0;
    const server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      // Long enough for a second try even on a loaded machine.
      const client = argocdClient({ url: `http://127.0.0.1:${port}`, token, ...fast, retryForMs: 2000 });
      const error = await rejection(client.getApplication("checkout"));
      expect(error.kind).toBe("unavailable");
      expect(error.retryable).toBe(true);
      expect(SelfHealError.isInstance(error)).toBe(true);
      expect(connections).toBeGreaterThan(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("times out a request that gets no answer in time", async () => {
    const standIn = await start();
    // The answer is held until the client gave up: the timeout fired, however slow the machine.
    // 1 s, not less: the request must reach the stand-in (which checks it was called) first.
    const held = hold();
    standIn.expect("ApplicationService_Get", async () => {
      await held.promise;
      return { status: 200, body: {} };
    });
    const client = argocdClient({ url: standIn.url, token, requestTimeoutMs: 1000, retryForMs: 0 });
    const error = await rejection(client.getApplication("checkout"));
    held.release();
    expect(error.kind).toBe("timeout");
    expect(error.message).toContain("did not answer within 1000 ms");
  });

  it("returns the history newest first", async () => {
    const standIn = await start();
    const app = appModel();
    deploy(app, ourRevision);
    serveGet(standIn, app);
    const history = await argocdClient({ url: standIn.url, token }).history("checkout");
    expect(history.map((entry) => entry.revision)).toEqual([ourRevision, app.history[0]?.revision]);
    expect(history[0]?.id).toBe(1);
  });

  it("has a stand-in that catches requests and answers the spec does not allow", async () => {
    const standIn = await startStandIn();
    standIn.expect("ApplicationService_Sync", () => ({
      status: 200,
      body: { status: { history: [{ id: "1" }] } },
    }));
    const post = (path: string, body: string) =>
      request(`${standIn.url}${path}`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json" },
      }).then((answer) => answer.body.text());
    await post(
      "/api/v1/applications/checkout/sync?force=true",
      '{"prune":"no","syncOptions":["Validate=false"]}',
    );
    await post("/api/v1/applications/checkout/refresh", "{}");
    await expect(standIn.close()).rejects.toThrow(
      /query parameter force is not declared[\s\S]*body: \/prune must be boolean[\s\S]*body: \/syncOptions must be object[\s\S]*response 200: \/status\/history\/0\/id must be integer[\s\S]*POST \/api\/v1\/applications\/checkout\/refresh is not in the Argo CD swagger/,
    );
    const unused = await startStandIn();
    unused.expect("ApplicationService_Get", () => ({ status: 200, body: {} }));
    await expect(unused.close()).rejects.toThrow(/ApplicationService_Get expected but not called/);
  });

  it("refuses settings it cannot use", () => {
    expect(() => argocdClient({ url: "ftp://argocd" })).toThrow(/http\(s\)/);
    expect(() => argocdClient({ url: "http://argocd", insecure: true, dispatcher: new Agent() })).toThrow(
      /dispatcher/,
    );
  });
});
