import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openGitWorkspace } from "../src/index.js";
import { runGit } from "../src/testing/git-command.js";
import { type GitHttpServer, startGitHttpServer } from "../src/testing/index.js";

const call = () => AbortSignal.timeout(20_000);
const password = "UrlPassFake771";
let server: GitHttpServer;
let proxy: Server;
let proxyUrl: string;
let scratch: string;
/** The Authorization header of every request the git server got. */
const authorizations: (string | undefined)[] = [];

beforeAll(async () => {
  server = await startGitHttpServer();
  scratch = await mkdtemp(join(tmpdir(), "selfheal-workspace-creds-"));
  // In front of the real git server: records what credentials each request carried.
  const target = new URL(server.url);
  proxy = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    const forwarded = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => proxy.close(resolve));
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

const withCredentials = (name: string) => `${proxyUrl.replace("://", `://deploy:${password}@`)}/${name}.git`;

describe("a clone URL with credentials", () => {
  it("sends them as basic auth, but never writes them to .git/config or shows them", async () => {
    await server.createRepo("creds", { "apps/checkout.yaml": "image: r/checkout:v1\n" });
    const dir = join(scratch, "creds");
    const ws = openGitWorkspace({ url: withCredentials("creds"), dir });
    expect(ws.url).toBe(`${proxyUrl}/creds.git`);
    authorizations.length = 0;
    const head = await ws.refresh(call());
    const sha = await ws.commit({
      parent: head,
      files: [{ path: "apps/checkout.yaml", content: "image: r/checkout:v2\n" }],
      message: "bump",
    });
    expect(sha).toBeDefined();
    const status = await ws.push({ ref: "refs/heads/main", oldSha: head, newSha: sha ?? "" }, call());
    expect(status.ok).toBe(true);

    const basic = `Basic ${Buffer.from(`deploy:${password}`).toString("base64")}`;
    expect(authorizations.length).toBeGreaterThan(0);
    expect(new Set(authorizations)).toEqual(new Set([basic]));
    const config = await readFile(join(dir, ".git", "config"), "utf8");
    expect(config).toContain(`url = ${proxyUrl}/creds.git`);
    expect(config).not.toContain(password);
    expect(config).not.toContain("deploy@");
  });

  it("is taken out of the config of a clone made before", async () => {
    await server.createRepo("old-clone", { "README.md": "config\n" });
    const dir = join(scratch, "old-clone");
    await openGitWorkspace({ url: `${proxyUrl}/old-clone.git`, dir }).refresh(call());
    await runGit([
      "--git-dir",
      join(dir, ".git"),
      "config",
      "remote.origin.url",
      withCredentials("old-clone"),
    ]);
    expect(await readFile(join(dir, ".git", "config"), "utf8")).toContain(password);

    await openGitWorkspace({ url: withCredentials("old-clone"), dir }).refresh(call());
    const config = await readFile(join(dir, ".git", "config"), "utf8");
    expect(config).toContain(`url = ${proxyUrl}/old-clone.git`);
    expect(config).not.toContain(password);
  });

  it("is not shown by the error of a failed clone", async () => {
    const ws = openGitWorkspace({ url: withCredentials("missing"), dir: join(scratch, "missing") });
    const error = await ws.refresh(call()).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(Error);
    const shown = `${String(error)} ${JSON.stringify(error)} ${(error as Error).stack ?? ""}`;
    expect(shown).toContain(`${proxyUrl}/missing.git`);
    expect(shown).not.toContain(password);
  });
});
