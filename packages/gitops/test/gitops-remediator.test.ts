import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Decision,
  type Incident,
  idempotencyKeyFor,
  RemediationError,
  RemediationResult,
  type Remediator,
} from "@selfheal/core";
import { makeIncident, testGitForgeContract, testRemediatorContract } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitopsSettings, gitopsRemediator, openGitWorkspace } from "../src/index.js";
import { runGit } from "../src/testing/git-command.js";
import { type GitHttpServer, localForge, startGitHttpServer } from "../src/testing/index.js";

const call = () => AbortSignal.timeout(30_000);
let server: GitHttpServer;
let scratch: string;
let repoCount = 0;

beforeAll(async () => {
  server = await startGitHttpServer();
  scratch = await mkdtemp(join(tmpdir(), "selfheal-remediator-test-"));
});

afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

function deployment(name: string, image: string, replicas = 2): string {
  return [
    "# checkout: owned by team shop",
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    `  name: ${name}`,
    "spec:",
    `  replicas: ${replicas} # raised by hand in March`,
    "  template:",
    "    spec:",
    "      containers:",
    `        - name: ${name}`,
    `          image: "${image}"  # keep quoted`,
    "",
  ].join("\n");
}

const hpa = (name: string, min: number, max: number) =>
  `apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: ${name}\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: ${name}\n  minReplicas: ${min}\n  maxReplicas: ${max}\n`;

interface Repo {
  readonly url: string;
  readonly path: string;
  readonly name: string;
}

/** A config repo where checkout ran v1.0.0, then v1.1.0, and now runs v1.2.0. */
async function configRepo(extra: Record<string, string> = {}): Promise<Repo> {
  const name = `config-${++repoCount}`;
  const { url, path } = await server.createRepo(
    name,
    {
      "apps/checkout/deployment.yaml": deployment("checkout", "registry.example.com/checkout:v1.0.0"),
      "apps/payments/deployment.yaml": deployment("payments", "registry.example.com/payments:v3.0.0"),
      ...extra,
    },
    {
      commits: [
        {
          message: "checkout v1.1.0",
          files: {
            "apps/checkout/deployment.yaml": deployment("checkout", "registry.example.com/checkout:v1.1.0"),
          },
        },
        {
          message: "checkout v1.2.0",
          files: {
            "apps/checkout/deployment.yaml": deployment("checkout", "registry.example.com/checkout:v1.2.0"),
          },
        },
      ],
    },
  );
  return { url, path, name };
}

function remediator(repo: Repo, settings: Partial<GitopsSettings> = {}, dir = repo.name): Remediator {
  return gitopsRemediator({
    workspace: openGitWorkspace({ url: repo.url, dir: join(scratch, dir) }),
    ...settings,
  });
}

const rollback: Decision = {
  action: "rollback",
  params: {},
  reason: "error rate 30% after v1.2.0",
  escalate: false,
};
const incident = (service = "checkout", id = `inc-${service}-1`): Incident =>
  makeIncident({
    id,
    service,
    key: `${service}/HighErrorRate`,
    alertname: "HighErrorRate",
    fingerprint: "abc123",
  });

async function refs(repo: Repo): Promise<string> {
  return runGit(["--git-dir", repo.path, "for-each-ref", "--format=%(refname) %(objectname)"]);
}

async function show(repo: Repo, rev: string): Promise<string> {
  return runGit(["--git-dir", repo.path, "show", rev]);
}

async function run(target: Remediator, subject: Incident, decision: Decision) {
  const idempotencyKey = idempotencyKeyFor(subject.id, decision.action);
  const plan = await target.plan({ incident: subject, decision, idempotencyKey, signal: call() });
  const stamp = { idempotencyKey, startedAt: new Date().toISOString(), finishedAt: new Date().toISOString() };
  const apply = async () =>
    RemediationResult.parse({
      ...(await target.apply({ incident: subject, plan, signal: call() })),
      ...stamp,
    });
  return { plan, apply };
}

testRemediatorContract("gitops (direct commits on a real git server)", async () => {
  const repo = await configRepo();
  return {
    remediator: remediator(repo),
    incident: incident(),
    decision: rollback,
    snapshot: () => refs(repo),
  };
});

testGitForgeContract("local forge over a real git server", async () => {
  const repo = await configRepo();
  const workspace = openGitWorkspace({ url: repo.url, dir: join(scratch, `${repo.name}-forge`) });
  return {
    forge: localForge({ repoPath: repo.path, webUrl: "http://forge.invalid/acme/config" }),
    base: "main",
    pushBranch: async (branch) => {
      const head = await workspace.refresh(call());
      const sha = await workspace.commit({
        parent: head,
        message: `work on ${branch}`,
        files: [{ path: `notes/${branch}.txt`, content: branch }],
      });
      await workspace.push({ ref: `refs/heads/${branch}`, oldSha: null, newSha: sha as string }, call());
      return sha as string;
    },
    headOf: async (branch) => (await runGit(["--git-dir", repo.path, "rev-parse", branch])).trim(),
  };
});

describe("gitops remediator: rollback", () => {
  it("rolls back to the previous version from git history, keeps every other byte, quarantines the bad one", async () => {
    const repo = await configRepo();
    const { plan, apply } = await run(remediator(repo), incident(), rollback);
    expect(plan.params).toMatchObject({
      action: "rollback",
      from: "registry.example.com/checkout:v1.2.0",
      to: "registry.example.com/checkout:v1.1.0",
    });
    expect(plan.changes[0]?.diff).toContain(
      '-          image: "registry.example.com/checkout:v1.2.0"  # keep quoted',
    );
    expect(plan.changes[0]?.diff).toContain(
      '+          image: "registry.example.com/checkout:v1.1.0"  # keep quoted',
    );
    const result = await apply();
    expect(result).toMatchObject({ status: "applied", reused: false });
    expect(await show(repo, "main:apps/checkout/deployment.yaml")).toBe(
      deployment("checkout", "registry.example.com/checkout:v1.1.0"),
    );
    const quarantine = await show(repo, "main:.selfheal/quarantine/checkout.yaml");
    expect(quarantine).toContain("version: registry.example.com/checkout:v1.2.0");
    expect(quarantine).toContain("tag: v1.2.0");
    const message = await runGit(["--git-dir", repo.path, "log", "-1", "--format=%B", "main"]);
    expect(message).toContain("Selfheal-Incident: inc-checkout-1");
    expect(message).toContain("Selfheal-Action: rollback");
    expect(message).toContain("Alert-Fingerprint: abc123");
    expect(message).toContain(`Selfheal-Key: ${plan.idempotencyKey}`);
    expect(result.revision).toBe((await runGit(["--git-dir", repo.path, "rev-parse", "main"])).trim());
  });

  it("never moves back to a quarantined version: the next rollback skips it", async () => {
    const repo = await configRepo({
      ".selfheal/quarantine/checkout.yaml": `service: checkout\nversions:\n  - version: registry.example.com/checkout:v1.1.0\n    tag: v1.1.0\n    until: "2999-01-01T00:00:00.000Z"\n    incident: inc-0\n`,
    });
    const { plan } = await run(remediator(repo), incident(), rollback);
    expect(plan.params).toMatchObject({ to: "registry.example.com/checkout:v1.0.0" });
  });

  it("escalates when history has no earlier version, and pushes nothing", async () => {
    const name = `config-${++repoCount}`;
    const { url, path } = await server.createRepo(name, {
      "apps/checkout/deployment.yaml": deployment("checkout", "registry.example.com/checkout:v1.2.0"),
    });
    const repo = { url, path, name };
    const before = await refs(repo);
    const error = await run(remediator(repo), incident(), rollback).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RemediationError);
    expect((error as RemediationError).escalate).toBe(true);
    expect((error as RemediationError).message).toContain("not guessing a tag");
    expect(await refs(repo)).toBe(before);
  });

  it("escalates when the service is found twice, naming both files, and pushes nothing", async () => {
    const repo = await configRepo({
      "legacy/checkout.yaml": deployment("checkout", "registry.example.com/checkout:v0.9.0"),
    });
    const before = await refs(repo);
    const error = await run(remediator(repo), incident(), rollback).catch((thrown: unknown) => thrown);
    expect((error as RemediationError).escalate).toBe(true);
    expect((error as Error).message).toContain("legacy/checkout.yaml");
    expect((error as Error).message).toContain("apps/checkout/deployment.yaml");
    expect(await refs(repo)).toBe(before);
  });

  it("escalates on a manifest that does not parse, and pushes nothing", async () => {
    const repo = await configRepo();
    const broken = remediator(repo, { locate: { paths: ["apps/{service}/deployment.yaml"] } });
    await runGit(["--git-dir", repo.path, "update-ref", "refs/heads/main", await brokenCommit(repo)]);
    const before = await refs(repo);
    const error = await run(broken, incident(), rollback).catch((thrown: unknown) => thrown);
    expect((error as RemediationError).escalate).toBe(true);
    expect(await refs(repo)).toBe(before);
  });

  it("escalates when an alert's service would point an edit outside its own files, and pushes nothing", async () => {
    const repo = await configRepo({
      "charts/checkout/values.yaml": "image:\n  repository: registry.example.com/checkout\n  tag: v1.2.0\n",
    });
    const before = await refs(repo);
    const traversals = ["../payments", "checkout/../../payments", "/etc/passwd", ".git", "a b"];
    for (const service of traversals) {
      const settings = { locate: { paths: ["apps/{service}/deployment.yaml"] } };
      const error = await run(remediator(repo, settings), incident(service), rollback).catch(
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(RemediationError);
      expect((error as RemediationError).escalate).toBe(true);
      expect((error as Error).message).toContain("cannot name a file");
    }
    expect(await refs(repo)).toBe(before);
  });

  it("escalates when a Helm values path does not exist, and pushes nothing", async () => {
    const repo = await configRepo({
      "charts/checkout/values.yaml": "image:\n  repository: registry.example.com/checkout\n  tag: v1.2.0\n",
    });
    const helm = remediator(repo, {
      image: { kind: "helm", file: "charts/{service}/values.yaml", path: "image.version" },
    });
    const before = await refs(repo);
    const error = await run(helm, incident(), rollback).catch((thrown: unknown) => thrown);
    expect((error as RemediationError).escalate).toBe(true);
    expect((error as Error).message).toContain("image.version");
    expect(await refs(repo)).toBe(before);
  });

  it("applies twice and after a restart: one commit", async () => {
    const repo = await configRepo();
    const { plan, apply } = await run(remediator(repo), incident(), rollback);
    const first = await apply();
    const second = await apply();
    // A restarted controller: a new workspace folder, the same recorded plan.
    const restarted = remediator(repo, {}, `${repo.name}-restarted`);
    const third = await restarted.apply({ incident: incident(), plan, signal: call() });
    expect(second).toMatchObject({ reused: true, revision: first.revision });
    expect(third).toMatchObject({ reused: true, revision: first.revision });
    expect(await runGit(["--git-dir", repo.path, "rev-list", "--count", "main"])).toBe("4\n");
  });
});

describe("gitops remediator: change requests", () => {
  it("pushes its own branch and opens one change request; again after a crash before opening: one of each", async () => {
    const repo = await configRepo();
    const forge = localForge({ repoPath: repo.path, webUrl: "http://forge.invalid/acme/config" });
    const target = remediator(repo, { forge });
    const { plan, apply } = await run(target, incident(), rollback);
    forge.failNext("open");
    await expect(apply()).rejects.toThrow("injected failure of open");
    const result = await apply();
    const again = await apply();
    expect(result).toMatchObject({
      status: "pending_merge",
      reused: true,
      changeRequest: { id: "1", state: "open" },
    });
    expect(again).toMatchObject({ status: "pending_merge", reused: true, revision: result.revision });
    expect(forge.requests).toHaveLength(1);
    expect(forge.requests[0]?.title).toBe("selfheal: rollback checkout (HighErrorRate)");
    expect(forge.requests[0]?.body).toContain("inc-checkout-1");
    const branches = (await refs(repo)).split("\n").filter((line) => line.startsWith("refs/heads/selfheal/"));
    expect(branches).toHaveLength(1);
    expect(branches[0]).toContain(`refs/heads/selfheal/${plan.idempotencyKey}`);
    expect(
      await runGit(["--git-dir", repo.path, "rev-list", "--count", `main..selfheal/${plan.idempotencyKey}`]),
    ).toBe("1\n");
    expect(await show(repo, "main:apps/checkout/deployment.yaml")).toContain("v1.2.0");

    await forge.merge("1", { signal: call() });
    const merged = await target.awaitMerge?.({ incident: incident(), plan, result, signal: call() });
    expect(merged).toMatchObject({ status: "applied" });
    expect(await show(repo, "main:apps/checkout/deployment.yaml")).toContain("v1.1.0");
  });

  it("commits through the forge API when told to", async () => {
    const repo = await configRepo();
    const forge = localForge({ repoPath: repo.path, webUrl: "http://forge.invalid/x" });
    expect(() => remediator(repo, { forge, commitVia: "api" })).toThrow("cannot commit through an API");
  });
});

describe("gitops remediator: scale up", () => {
  it("raises spec.replicas, bounded by the cap", async () => {
    const repo = await configRepo();
    const { plan, apply } = await run(remediator(repo, { maxReplicas: 5 }), incident(), {
      ...rollback,
      action: "scale_up",
      params: { by: 2 },
    });
    expect(plan.params).toMatchObject({ field: "spec.replicas", from: 2, to: 4 });
    await apply();
    expect(await show(repo, "main:apps/checkout/deployment.yaml")).toContain(
      "  replicas: 4 # raised by hand in March\n",
    );
    const error = await run(
      remediator(repo, { maxReplicas: 5 }, `${repo.name}-b`),
      incident("checkout", "inc-2"),
      {
        ...rollback,
        action: "scale_up",
        params: { replicas: 9 },
      },
    ).catch((thrown: unknown) => thrown);
    expect((error as RemediationError).escalate).toBe(true);
    expect((error as Error).message).toContain("above the replica cap: 5");
  });

  it("raises the HPA's minReplicas instead of spec.replicas, bounded by maxReplicas", async () => {
    const repo = await configRepo({ "apps/checkout/hpa.yaml": hpa("checkout", 2, 4) });
    const { plan, apply } = await run(remediator(repo), incident(), {
      ...rollback,
      action: "scale_up",
      params: {},
    });
    expect(plan.params).toMatchObject({
      field: "spec.minReplicas",
      from: 2,
      to: 3,
      file: "apps/checkout/hpa.yaml",
    });
    await apply();
    expect(await show(repo, "main:apps/checkout/hpa.yaml")).toBe(hpa("checkout", 3, 4));
    expect(await show(repo, "main:apps/checkout/deployment.yaml")).toContain("  replicas: 2 #");
    const error = await run(remediator(repo, {}, `${repo.name}-b`), incident("checkout", "inc-2"), {
      ...rollback,
      action: "scale_up",
      params: { replicas: 5 },
    }).catch((thrown: unknown) => thrown);
    expect((error as Error).message).toContain("maxReplicas 4");
  });
});

describe("gitops remediator: nothing to change", () => {
  it("says noop when the manifest already holds the wanted state, so apply is never called", async () => {
    const repo = await configRepo();
    const before = await refs(repo);
    const { plan } = await run(remediator(repo), incident(), {
      ...rollback,
      params: { image: "registry.example.com/checkout:v1.2.0" }, // what the manifest says already
    });
    expect({ noop: plan.noop, changes: plan.changes }).toEqual({ noop: true, changes: [] });
    expect(await refs(repo)).toBe(before);
    // A plan with work to do does not say noop.
    const { plan: back } = await run(remediator(repo, {}, `${repo.name}-b`), incident("checkout", "inc-2"), {
      ...rollback,
      params: { image: "registry.example.com/checkout:v1.1.0" },
    });
    expect(back.noop).toBeUndefined();
    expect(back.changes.map((change) => change.target)).toContain("apps/checkout/deployment.yaml");
  });
});

describe("gitops remediator: scale up with Helm values", () => {
  const values = (tag: string, replicas: number) =>
    `# checkout chart values\nreplicaCount: ${replicas} # per region\nimage:\n  repository: registry.example.com/checkout\n  tag: ${tag}\n`;

  it("raises the values file's replicaCount, not the rendered spec.replicas", async () => {
    const repo = await configRepo({ "charts/checkout/values.yaml": values("v1.2.0", 2) });
    const helm = {
      kind: "helm",
      file: "charts/{service}/values.yaml",
      path: "image.tag",
      replicas: "replicaCount",
    } as const;
    const { plan, apply } = await run(remediator(repo, { image: helm, maxReplicas: 3 }), incident(), {
      ...rollback,
      action: "scale_up",
      params: {},
    });
    expect(plan.params).toMatchObject({
      field: "replicaCount",
      from: 2,
      to: 3,
      file: "charts/checkout/values.yaml",
    });
    await apply();
    expect(await show(repo, "main:charts/checkout/values.yaml")).toBe(values("v1.2.0", 3));
    expect(await show(repo, "main:apps/checkout/deployment.yaml")).toContain("  replicas: 2 #");
    const error = await run(
      remediator(repo, { image: helm, maxReplicas: 3 }, `${repo.name}-b`),
      incident("checkout", "inc-2"),
      { ...rollback, action: "scale_up", params: {} },
    ).catch((thrown: unknown) => thrown);
    expect((error as Error).message).toContain("scale to 4 is above the replica cap: 3");
  });
});

describe("gitops remediator: concurrency", () => {
  it("concurrent remediations of different services in one repo all land, none lost, never forced", async () => {
    const services = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    const name = `config-${++repoCount}`;
    const initial = Object.fromEntries(
      services.map((service) => [`apps/${service}.yaml`, deployment(service, `r/${service}:v1`)]),
    );
    const { url, path } = await server.createRepo(name, initial, {
      commits: [
        {
          message: "v2 everywhere",
          files: Object.fromEntries(
            services.map((service) => [`apps/${service}.yaml`, deployment(service, `r/${service}:v2`)]),
          ),
        },
      ],
    });
    const repo = { url, path, name };
    // One workspace per service: like separate controller replicas racing on one branch.
    const results = await Promise.all(
      services.map(async (service) => {
        const { apply } = await run(
          remediator(repo, { quarantine: false }, `${name}-${service}`),
          incident(service),
          rollback,
        );
        return apply();
      }),
    );
    expect(results.every((result) => result.status === "applied")).toBe(true);
    for (const service of services)
      expect(await show(repo, `main:apps/${service}.yaml`)).toContain(`r/${service}:v1`);
    expect(await runGit(["--git-dir", path, "rev-list", "--count", "main"])).toBe(`${2 + services.length}\n`);
    await runGit(["--git-dir", path, "fsck", "--strict", "--no-progress"]);
  });

  it("two remediators on one warm clone and a third on its own clone push to one branch at once: each change lands once, none lost, none forced", async () => {
    const services = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
    const name = `config-${++repoCount}`;
    const at = (tag: string) =>
      Object.fromEntries(
        services.map((service) => [`apps/${service}.yaml`, deployment(service, `r/${service}:${tag}`)]),
      );
    const { url, path } = await server.createRepo(name, at("v1"), {
      commits: [{ message: "v2 everywhere", files: at("v2") }],
    });
    // The server keeps a log of every update of main, so a forced (non-fast-forward) one shows.
    await runGit(["--git-dir", path, "config", "core.logAllRefUpdates", "always"]);
    const git = (...args: string[]) => runGit(["--git-dir", path, ...args]);
    const before = (await git("rev-parse", "main")).trim();
    // Two services of one controller with different settings: two remediators, one warm clone
    // (as `selfheal run` wires services of one repository). A second controller has its own clone.
    const shared = openGitWorkspace({ url, dir: join(scratch, `${name}-shared`) });
    const first = gitopsRemediator({ workspace: shared, quarantine: false });
    const second = gitopsRemediator({ workspace: shared, quarantine: false, maxReplicas: 5 });
    const other = gitopsRemediator({
      workspace: openGitWorkspace({ url, dir: join(scratch, `${name}-other`) }),
      quarantine: false,
      maxReplicas: 5,
    });
    const scaleUp: Decision = { ...rollback, action: "scale_up", params: { by: 1 } };
    // alpha is changed by two of them at once (its image by one, its replicas by another):
    // each edit is worked out again on the head it lands on, so neither undoes the other.
    const work: [Remediator, Incident, Decision][] = [
      [first, incident("alpha"), rollback],
      [first, incident("bravo"), rollback],
      [second, incident("charlie"), rollback],
      [second, incident("delta"), scaleUp],
      [second, incident("alpha", "inc-alpha-scale"), scaleUp],
      [other, incident("echo"), rollback],
      [other, incident("foxtrot"), scaleUp],
    ];
    const planned = await Promise.all(
      work.map(([target, subject, decision]) => run(target, subject, decision)),
    );
    const results = await Promise.all(planned.map(({ apply }) => apply()));
    expect(results.map((result) => result.status)).toEqual(work.map(() => "applied"));
    expect(results.every((result) => result.reused === false)).toBe(true);

    // Exactly one commit per change on main, each carrying its own key once.
    const keys = (await git("log", "--format=%(trailers:key=Selfheal-Key,valueonly)", `${before}..main`))
      .split("\n")
      .filter((line) => line !== "");
    expect(keys.sort()).toEqual(planned.map(({ plan }) => plan.idempotencyKey).sort());
    expect(new Set(results.map((result) => result.revision)).size).toBe(work.length);
    for (const result of results) await git("merge-base", "--is-ancestor", result.revision ?? "", "main");
    // None lost: every file holds every change made to it.
    const file = (service: string) => git("show", `main:apps/${service}.yaml`);
    expect(await file("alpha")).toContain("r/alpha:v1");
    expect(await file("alpha")).toContain("  replicas: 3 # raised by hand in March");
    for (const service of ["bravo", "charlie", "echo"])
      expect(await file(service)).toContain(`r/${service}:v1`);
    for (const service of ["delta", "foxtrot"]) {
      expect(await file(service)).toContain(`r/${service}:v2`);
      expect(await file(service)).toContain("  replicas: 3 # raised by hand in March");
    }
    // Linear history on main, and every update of main the server made was a fast-forward.
    expect((await git("rev-list", "--merges", `${before}..main`)).trim()).toBe("");
    const updates = (await git("reflog", "show", "--format=%H", "refs/heads/main"))
      .trim()
      .split("\n")
      .reverse();
    expect(updates).toHaveLength(work.length);
    let previous = before;
    for (const update of updates) {
      expect((await git("rev-parse", `${update}^`)).trim()).toBe(previous);
      previous = update;
    }
    expect(previous).toBe((await git("rev-parse", "main")).trim());
    await git("fsck", "--strict", "--no-progress");
  });
});

/** A commit on main whose checkout manifest does not parse. */
async function brokenCommit(repo: Repo): Promise<string> {
  const blob = await runGitInput(
    repo,
    ["hash-object", "-w", "--stdin"],
    "kind: Deployment\nmetadata: {name: checkout\n",
  );
  const tree = await runGit(["--git-dir", repo.path, "rev-parse", "main^{tree}"]);
  const listing = (await runGit(["--git-dir", repo.path, "ls-tree", "-r", tree.trim()]))
    .split("\n")
    .filter((line) => line !== "")
    .map((line) =>
      line.endsWith("\tapps/checkout/deployment.yaml")
        ? `100644 blob ${blob.trim()}\tapps/checkout/deployment.yaml`
        : line,
    );
  const index = join(scratch, `${repo.name}.index`);
  const env = { GIT_INDEX_FILE: index };
  await runGitInput(repo, ["update-index", "--index-info"], `${listing.join("\n")}\n`, env);
  const newTree = (await runGit(["--git-dir", repo.path, "write-tree"], { env })).trim();
  const identity = {
    GIT_AUTHOR_NAME: "t",
    GIT_AUTHOR_EMAIL: "t@t.invalid",
    GIT_COMMITTER_NAME: "t",
    GIT_COMMITTER_EMAIL: "t@t.invalid",
  };
  return (
    await runGit(["--git-dir", repo.path, "commit-tree", newTree, "-p", "main", "-m", "break checkout"], {
      env: identity,
    })
  ).trim();
}

async function runGitInput(
  repo: Repo,
  args: string[],
  input: string,
  env: Record<string, string> = {},
): Promise<string> {
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const child = spawn("git", ["--git-dir", repo.path, ...args], { env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`git ${args.join(" ")} exited ${code}`)),
    );
    child.stdin.end(input);
  });
}
