import { watch } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ForgeError } from "@selfheal/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitWorkspace, openGitWorkspace } from "../src/index.js";
import { runGit } from "../src/testing/git-command.js";
import { type GitHttpServer, startGitHttpServer } from "../src/testing/index.js";

const call = () => AbortSignal.timeout(20_000);
let server: GitHttpServer;
let scratch: string;

beforeAll(async () => {
  server = await startGitHttpServer();
  scratch = await mkdtemp(join(tmpdir(), "selfheal-workspace-test-"));
});

afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

const files = {
  "apps/checkout/deployment.yaml": "image: registry/checkout:v1.2.0\n",
  "apps/payments/deployment.yaml": "image: registry/payments:v3.0.0\n",
  "README.md": "# config\n",
};

async function repo(name: string): Promise<{ url: string; path: string }> {
  return server.createRepo(name, files, {
    commits: [
      {
        message: "checkout v1.3.0",
        files: { "apps/checkout/deployment.yaml": "image: registry/checkout:v1.3.0\n" },
      },
    ],
  });
}

function workspace(url: string, name: string): GitWorkspace {
  return openGitWorkspace({ url, dir: join(scratch, name) });
}

/** What native git sees on the server: a fresh clone, checked with fsck. */
async function nativeView(
  path: string,
  ref = "main",
): Promise<{ head: string; read(file: string): Promise<string> }> {
  await runGit(["--git-dir", path, "fsck", "--strict", "--no-progress"]);
  const head = (await runGit(["--git-dir", path, "rev-parse", ref])).trim();
  return { head, read: (file) => runGit(["--git-dir", path, "show", `${ref}:${file}`]) };
}

describe("git workspace", () => {
  it("clones, reads, commits one file and pushes only what changed; native git agrees", async () => {
    const { url, path } = await repo("one");
    const ws = workspace(url, "one");
    const head = await ws.refresh(call());
    expect(head).toBe((await nativeView(path)).head);
    expect(await ws.readFile(head, "apps/checkout/deployment.yaml")).toBe(
      "image: registry/checkout:v1.3.0\n",
    );
    expect(await ws.readFile(head, "apps/none.yaml")).toBeUndefined();
    expect([...(await ws.tree(head).list())].sort()).toEqual(Object.keys(files).sort());

    const sha = await ws.commit({
      parent: head,
      message: "Roll back checkout\n\nSelfheal-Incident: inc-1",
      files: [{ path: "apps/checkout/deployment.yaml", content: "image: registry/checkout:v1.2.0\n" }],
    });
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    const status = await ws.push({ ref: "refs/heads/main", oldSha: head, newSha: sha as string }, call());
    expect(status).toEqual({ ref: "refs/heads/main", ok: true });

    const native = await nativeView(path);
    expect(native.head).toBe(sha);
    expect(await native.read("apps/checkout/deployment.yaml")).toBe("image: registry/checkout:v1.2.0\n");
    expect(await native.read("apps/payments/deployment.yaml")).toBe(files["apps/payments/deployment.yaml"]);
    expect(await runGit(["--git-dir", path, "log", "-1", "--format=%B", "main"])).toContain(
      "Selfheal-Incident: inc-1",
    );
    expect(await ws.refresh(call())).toBe(sha);
  });

  it("answers undefined for a commit that changes nothing", async () => {
    const { url } = await repo("noop");
    const ws = workspace(url, "noop");
    const head = await ws.refresh(call());
    const sha = await ws.commit({
      parent: head,
      message: "nothing",
      files: [{ path: "README.md", content: "# config\n" }],
    });
    expect(sha).toBeUndefined();
  });

  it("creates files in new folders", async () => {
    const { url, path } = await repo("new-folder");
    const ws = workspace(url, "new-folder");
    const head = await ws.refresh(call());
    const sha = await ws.commit({
      parent: head,
      message: "quarantine",
      files: [{ path: ".selfheal/quarantine/checkout.yaml", content: "tags: [v1.3.0]\n" }],
    });
    await ws.push({ ref: "refs/heads/selfheal/inc-2/rollback", oldSha: null, newSha: sha as string }, call());
    const native = await nativeView(path, "selfheal/inc-2/rollback");
    expect(await native.read(".selfheal/quarantine/checkout.yaml")).toBe("tags: [v1.3.0]\n");
    expect([...(await ws.remoteRefs("refs/heads/selfheal/", call())).keys()]).toEqual([
      "refs/heads/selfheal/inc-2/rollback",
    ]);
  });

  it("refuses a push when the branch moved meanwhile, and never forces", async () => {
    const { url, path } = await repo("moved");
    const ours = workspace(url, "moved-ours");
    const theirs = workspace(url, "moved-theirs");
    const base = await ours.refresh(call());
    await theirs.refresh(call());
    const theirCommit = await theirs.commit({
      parent: base,
      message: "someone else",
      files: [{ path: "apps/payments/deployment.yaml", content: "image: registry/payments:v3.0.1\n" }],
    });
    await theirs.push({ ref: "refs/heads/main", oldSha: base, newSha: theirCommit as string }, call());
    const ourCommit = await ours.commit({
      parent: base,
      message: "ours",
      files: [{ path: "apps/checkout/deployment.yaml", content: "image: registry/checkout:v1.2.0\n" }],
    });
    const refused = await ours.push(
      { ref: "refs/heads/main", oldSha: base, newSha: ourCommit as string },
      call(),
    );
    expect(refused.ok).toBe(false);
    expect((await nativeView(path)).head).toBe(theirCommit);
    // Creating a branch that exists is refused the same way.
    const again = await ours.push(
      { ref: "refs/heads/main", oldSha: null, newSha: ourCommit as string },
      call(),
    );
    expect(again.ok).toBe(false);
  });

  it("walks a file's history newest first", async () => {
    const { url } = await repo("history");
    const ws = workspace(url, "history");
    const head = await ws.refresh(call());
    const versions = [];
    for await (const version of ws.fileHistory("apps/checkout/deployment.yaml", { from: head }))
      versions.push(version);
    expect(versions.map((version) => version.content)).toEqual([
      "image: registry/checkout:v1.3.0\n",
      "image: registry/checkout:v1.2.0\n",
    ]);
  });

  it("makes the same commit again for the same change and time (a restart finds its own work)", async () => {
    const { url } = await repo("same");
    const first = workspace(url, "same-a");
    const second = workspace(url, "same-b");
    const head = await first.refresh(call());
    await second.refresh(call());
    const change = {
      parent: head,
      message: "Roll back",
      time: new Date("2026-11-26T03:00:00Z"),
      files: [{ path: "apps/checkout/deployment.yaml", content: "image: registry/checkout:v1.2.0\n" }],
    };
    expect(await first.commit(change)).toBe(await second.commit(change));
  });

  it("fails with a ForgeError naming the URL when the server is not there", async () => {
    const ws = openGitWorkspace({ url: "http://127.0.0.1:9/none.git", dir: join(scratch, "none") });
    const error = await ws.refresh(call()).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ForgeError);
    expect((error as ForgeError).message).toContain("git clone failed");
    expect((error as ForgeError).url).toBe("http://127.0.0.1:9/none.git");
  });
});

describe("git workspace: a fetch beside readers", () => {
  it("puts a fetched pack and its index in place whole, so a concurrent read never sees half of one", async () => {
    const { url } = await repo("fetch-beside-readers");
    const reader = workspace(url, "fetch-beside-readers-reader");
    const writer = workspace(url, "fetch-beside-readers-writer");
    const before = await reader.refresh(call());
    await writer.refresh(call());
    const sha = await writer.commit({
      parent: before,
      files: [{ path: "apps/checkout/deployment.yaml", content: "image: registry/checkout:v1.4.0\n" }],
      message: "checkout v1.4.0",
    });
    if (sha === undefined) throw new Error("nothing to commit");
    expect((await writer.push({ ref: "refs/heads/main", oldSha: before, newSha: sha }, call())).ok).toBe(
      true,
    );
    // Reads (readFile, tree, readCommit) take no lock: they list objects/pack and load every
    // index there. A file written in place in that folder (a "change" event) could be read half
    // written; one renamed into it (only "rename" events) is whole when it appears.
    const packs = join(scratch, "fetch-beside-readers-reader", ".git", "objects", "pack");
    const cloned = new Set(await readdir(packs));
    const events: string[] = [];
    let indexSeen: () => void = () => {};
    const indexed = new Promise<void>((resolve) => {
      indexSeen = resolve;
    });
    const watcher = watch(packs, (type, file) => {
      events.push(`${type} ${file ?? "?"}`);
      if (file?.endsWith(".idx")) indexSeen();
    });
    try {
      expect(await reader.refresh(call())).toBe(sha);
      expect(await reader.readFile(sha, "apps/checkout/deployment.yaml")).toBe(
        "image: registry/checkout:v1.4.0\n",
      );
      // The watcher hears of the index (the last file put in place); events of one write come
      // in one batch, then one more turn for any left.
      await indexed;
      await new Promise<void>((resolve) => setImmediate(resolve));
    } finally {
      watcher.close();
    }
    const listed = (await readdir(packs)).filter((file) => !cloned.has(file));
    expect(listed.filter((file) => file.endsWith(".idx"))).toHaveLength(1);
    expect(listed.filter((file) => file.endsWith(".pack"))).toHaveLength(1);
    expect(events.filter((event) => event.startsWith("rename ")).length).toBeGreaterThan(0);
    expect(events.filter((event) => !event.startsWith("rename "))).toEqual([]);
  });
});

describe("git workspace: a damaged clone", () => {
  it("is cloned again when its files are damaged (it is only a cache)", async () => {
    const { url, path } = await repo("damaged");
    const ws = workspace(url, "damaged");
    const head = await ws.refresh(call());
    // A crash left a torn pack index and the tracking ref gone.
    const gitdir = join(scratch, "damaged", ".git");
    const packs = (await readdir(join(gitdir, "objects", "pack"))).filter((name) => name.endsWith(".idx"));
    for (const name of packs) await writeFile(join(gitdir, "objects", "pack", name), "torn");
    await rm(join(gitdir, "refs", "remotes", "origin", "main"), { force: true });
    await rm(join(gitdir, "packed-refs"), { force: true });
    expect(await ws.refresh(call())).toBe(head);
    // Cloned again: the pack indexes are whole.
    for (const name of (await readdir(join(gitdir, "objects", "pack"))).filter((file) =>
      file.endsWith(".idx"),
    )) {
      expect(await readFile(join(gitdir, "objects", "pack", name), "utf8")).not.toBe("torn");
    }
    expect(await ws.readFile(head, "README.md")).toBe("# config\n");
    const sha = await ws.commit({
      parent: head,
      message: "after repair",
      files: [{ path: "x.txt", content: "x\n" }],
    });
    expect((await ws.push({ ref: "refs/heads/main", oldSha: head, newSha: sha as string }, call())).ok).toBe(
      true,
    );
    await runGit(["--git-dir", path, "fsck", "--strict", "--no-progress"]);
  });
});
