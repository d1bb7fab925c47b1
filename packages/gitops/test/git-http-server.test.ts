import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { devNull, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type GitHttpServer, startGitHttpServer } from "../src/testing/index.js";

interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the git CLI without a shell, isolated from the user's config and any GIT_DIR of the caller. */
function git(args: string[], cwd?: string): Promise<GitResult> {
  const env: Record<string, string> = {
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: devNull,
    GIT_TERMINAL_PROMPT: "0",
    GIT_AUTHOR_NAME: "tester",
    GIT_AUTHOR_EMAIL: "tester@selfheal.invalid",
    GIT_COMMITTER_NAME: "tester",
    GIT_COMMITTER_EMAIL: "tester@selfheal.invalid",
  };
  if (process.env.PATH !== undefined) env.PATH = process.env.PATH;
  return new Promise((resolve) => {
    execFile("git", args, { cwd, env, encoding: "utf8" }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like `git` but fails the test with git's stderr and the server's CGI failures. */
async function gitOk(args: string[], cwd?: string): Promise<string> {
  const result = await git(args, cwd);
  if (result.code !== 0) {
    const failures = JSON.stringify(server.failures, null, 2);
    throw new Error(
      `git ${args.join(" ")} exited ${result.code}: ${result.stderr}\nserver failures: ${failures}`,
    );
  }
  return result.stdout;
}

let server: GitHttpServer;
let scratch: string;

beforeAll(async () => {
  server = await startGitHttpServer();
});

afterAll(async () => {
  await server.close();
});

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "selfheal-gitops-test-"));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

let cloneCount = 0;
async function clone(url: string): Promise<string> {
  cloneCount += 1;
  const target = join(scratch, `clone-${cloneCount}`);
  await gitOk(["clone", "--quiet", url, target]);
  return target;
}

describe("startGitHttpServer", () => {
  it("listens on 127.0.0.1 and serves a clone over HTTP", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const repo = await server.createRepo("clone-me", {
      "README.md": "hello\n",
      "deploy/app.yaml": "replicas: 2\n",
    });
    expect(repo.url).toBe(`${server.url}/clone-me.git`);
    expect(repo.path).toBe(join(server.root, "clone-me.git"));

    const workTree = await clone(repo.url);
    expect(await readFile(join(workTree, "README.md"), "utf8")).toBe("hello\n");
    expect(await readFile(join(workTree, "deploy/app.yaml"), "utf8")).toBe("replicas: 2\n");
    expect((await gitOk(["rev-parse", "--abbrev-ref", "HEAD"], workTree)).trim()).toBe("main");
  });

  it("accepts a push over HTTP that the bare repo and a second clone then see", async () => {
    const repo = await server.createRepo("push-me", { "app.yaml": "replicas: 2\n" });
    const first = await clone(repo.url);
    await writeFile(join(first, "app.yaml"), "replicas: 3\n");
    await gitOk(["commit", "--quiet", "--all", "--message", "Scale app to 3"], first);
    await gitOk(["push", "--quiet", "origin", "main"], first);

    const log = await gitOk(["--git-dir", repo.path, "log", "--format=%s", "main"]);
    expect(log.trim().split("\n")).toEqual(["Scale app to 3", "Initial commit"]);

    const second = await clone(repo.url);
    expect(await readFile(join(second, "app.yaml"), "utf8")).toBe("replicas: 3\n");
  });

  /** A repo whose main moved on (the winner pushed) after `loser` cloned and committed. */
  async function divergedClone(name: string): Promise<{ path: string; loser: string; before: string }> {
    const repo = await server.createRepo(name, { "app.yaml": "replicas: 2\n" });
    const winner = await clone(repo.url);
    const loser = await clone(repo.url);
    await writeFile(join(winner, "app.yaml"), "replicas: 3\n");
    await gitOk(["commit", "--quiet", "--all", "--message", "winner"], winner);
    await gitOk(["push", "--quiet", "origin", "main"], winner);
    await writeFile(join(loser, "app.yaml"), "replicas: 4\n");
    await gitOk(["commit", "--quiet", "--all", "--message", "loser"], loser);
    const before = (await gitOk(["--git-dir", repo.path, "rev-parse", "main"])).trim();
    return { path: repo.path, loser, before };
  }

  it("rejects a push that is not a fast-forward and leaves the branch unchanged", async () => {
    const { path, loser, before } = await divergedClone("no-rewind");
    const push = await git(["push", "--quiet", "origin", "main"], loser);
    expect(push.code).not.toBe(0);
    expect(push.stderr).toMatch(/rejected|non-fast-forward/);
    expect((await gitOk(["--git-dir", path, "rev-parse", "main"])).trim()).toBe(before);
  });

  it("refuses a forced push on the server side too, as a protected branch does", async () => {
    const { path, loser, before } = await divergedClone("protected");
    const forced = await git(["push", "--force", "origin", "main"], loser);
    expect(forced.code).not.toBe(0);
    expect(forced.stderr).toMatch(/denying non-fast-forward|rejected/);
    expect((await gitOk(["--git-dir", path, "rev-parse", "main"])).trim()).toBe(before);
  });

  it("answers 404 for a repo that does not exist", async () => {
    const response = await fetch(`${server.url}/nope.git/info/refs?service=git-upload-pack`);
    await response.arrayBuffer();
    expect(response.status).toBe(404);
    // The failure is recorded when the CGI exits, which may be just after the answer is sent.
    await vi.waitFor(() =>
      expect(server.failures.at(-1)).toMatchObject({
        status: 404,
        url: "/nope.git/info/refs?service=git-upload-pack",
      }),
    );
  });

  it("builds the extra commits in order on the chosen branch, with stable hashes", async () => {
    const commits = [
      { message: "Add service", files: { "service.yaml": "port: 80\n" } },
      { message: "Scale to 3", files: { "app.yaml": "replicas: 3\n", "nested/deep/file.txt": "x\n" } },
    ];
    const repo = await server.createRepo(
      "history",
      { "app.yaml": "replicas: 2\n" },
      { branch: "trunk", commits },
    );
    const log = await gitOk(["--git-dir", repo.path, "log", "--format=%s", "trunk"]);
    expect(log.trim().split("\n")).toEqual(["Scale to 3", "Add service", "Initial commit"]);
    expect((await gitOk(["--git-dir", repo.path, "symbolic-ref", "HEAD"])).trim()).toBe("refs/heads/trunk");

    const twin = await server.createRepo(
      "history-twin",
      { "app.yaml": "replicas: 2\n" },
      { branch: "trunk", commits },
    );
    const hashOf = async (path: string) => (await gitOk(["--git-dir", path, "rev-parse", "trunk"])).trim();
    expect(await hashOf(twin.path)).toBe(await hashOf(repo.path));

    const workTree = await clone(repo.url);
    expect(await readFile(join(workTree, "nested/deep/file.txt"), "utf8")).toBe("x\n");
    expect(await readFile(join(workTree, "service.yaml"), "utf8")).toBe("port: 80\n");
  });

  it("creates an empty repo when no files are given", async () => {
    const repo = await server.createRepo("empty");
    expect((await gitOk(["--git-dir", repo.path, "config", "http.receivepack"])).trim()).toBe("true");
    expect((await gitOk(["--git-dir", repo.path, "symbolic-ref", "HEAD"])).trim()).toBe("refs/heads/main");
    expect((await git(["--git-dir", repo.path, "rev-parse", "--verify", "--quiet", "main"])).code).not.toBe(
      0,
    );
  });

  it("refuses repo names that leave the root", async () => {
    await expect(server.createRepo("../escape")).rejects.toThrow(/inside its folder/);
    await expect(server.createRepo("/abs")).rejects.toThrow(/inside its folder/);
  });

  it("serves 5 concurrent clones", async () => {
    const files: Record<string, string> = {};
    for (let index = 0; index < 50; index += 1) files[`manifests/app-${index}.yaml`] = `replicas: ${index}\n`;
    const repo = await server.createRepo("busy", files);
    const clones = await Promise.all(Array.from({ length: 5 }, () => clone(repo.url)));
    for (const workTree of clones) {
      expect(await readFile(join(workTree, "manifests/app-49.yaml"), "utf8")).toBe("replicas: 49\n");
    }
  });
});

describe("GitHttpServer.close", () => {
  let closing: GitHttpServer | undefined;

  afterEach(async () => {
    await closing?.close();
  });

  it("removes the temporary root it created and stops answering", async () => {
    closing = await startGitHttpServer();
    const repo = await closing.createRepo("gone", { "a.txt": "a\n" });
    const response = await fetch(`${repo.url}/info/refs?service=git-upload-pack`);
    await response.arrayBuffer();
    expect(response.status).toBe(200);

    await closing.close();
    await expect(stat(closing.root)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(fetch(`${repo.url}/info/refs?service=git-upload-pack`)).rejects.toThrow();
    expect((await git(["ls-remote", repo.url])).code).not.toBe(0);
  });

  it("leaves a root it was given in place", async () => {
    const root = await mkdtemp(join(tmpdir(), "selfheal-gitops-root-"));
    try {
      closing = await startGitHttpServer({ root });
      await closing.createRepo("kept", { "a.txt": "a\n" });
      await closing.close();
      expect((await stat(join(root, "kept.git"))).isDirectory()).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
