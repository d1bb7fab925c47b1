import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeVerifyingIncident } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArgocdError, argocdClient, argocdSync } from "../src/index.js";
import { appModel, deploy, ourRevision, serveGet } from "./argocd-app-model.js";
import { type StandIn, startStandIn } from "./argocd-stand-in.js";

const token = "eyJhbGciOiJIUzI1NiJ9.c2VsZmhlYWwtdGVzdA.c2lnbmF0dXJlLXNlY3JldA";
let folder: string;
let cert: string;
let standIn: StandIn;

beforeAll(async () => {
  // A self-signed certificate for 127.0.0.1: it is its own CA.
  folder = await mkdtemp(join(tmpdir(), "argocd-tls-"));
  await promisify(execFile)("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=argocd-stand-in",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-keyout",
    join(folder, "key.pem"),
    "-out",
    join(folder, "cert.pem"),
  ]);
  cert = await readFile(join(folder, "cert.pem"), "utf8");
  standIn = await startStandIn({
    token,
    tls: { key: await readFile(join(folder, "key.pem"), "utf8"), cert },
  });
  const app = appModel();
  deploy(app, ourRevision);
  serveGet(standIn, app);
});

afterAll(async () => {
  await standIn.close();
  await rm(folder, { recursive: true, force: true });
});

describe("argocd over TLS", () => {
  it("trusts the server with the custom CA", async () => {
    const client = argocdClient({ url: standIn.url, token, ca: cert });
    expect((await client.getApplication("checkout")).status?.sync?.revision).toBe(ourRevision);
    await client.close();
  });

  it("fails with a TLS error, not retried, without the CA", async () => {
    const client = argocdClient({ url: standIn.url, token });
    const before = standIn.requests.length;
    const error = await client.getApplication("checkout").then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ArgocdError);
    expect((error as ArgocdError).kind).toBe("tls");
    expect((error as ArgocdError).retryable).toBe(false);
    expect((error as ArgocdError).message).toMatch(/TLS certificate not trusted \(\w+\); set `ca`/);
    expect(standIn.requests.length).toBe(before);
    await client.close();
  });

  it("works with insecure (no verification)", async () => {
    const client = argocdClient({ url: standIn.url, token, insecure: true });
    expect((await client.getApplication("checkout")).status?.health?.status).toBe("Healthy");
    await client.close();
  });

  it("verifies a sync over TLS with the CA", async () => {
    const incident = makeVerifyingIncident();
    const verifier = argocdSync({ url: standIn.url, token, ca: cert, app: "checkout", timeoutMs: 2000 });
    const { plan, result } = incident;
    if (plan === undefined || result === undefined) throw new Error("no plan or result");
    const verdict = await verifier.verify({
      incident,
      plan,
      result: { ...result, revision: ourRevision },
      signal: AbortSignal.timeout(5000),
    });
    expect(verdict.outcome).toBe("passed");
  });
});
