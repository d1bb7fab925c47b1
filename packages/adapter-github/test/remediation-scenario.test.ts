import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Decision,
  ForgeError,
  idempotencyKeyFor,
  RemediationError,
  type RemediationPlan,
  RemediationResult,
  type Remediator,
} from "@selfheal/core";
import { makeIncident } from "@selfheal/core/testing";
import { branchName, gitopsRemediator, openGitWorkspace } from "@selfheal/gitops";
import { type GitHttpServer, startGitHttpServer } from "@selfheal/gitops/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { githubForge } from "../src/index.js";
import { type BareRepo, bareRepo } from "./support/bare-repo.js";
import { token, useStandIns } from "./support/forge-harness.js";
import type { GithubStandIn } from "./support/github-stand-in.js";
import { errorBody } from "./support/stand-in-handlers.js";

// The remediation scenario of the GitOps remediator, run through the GitHub forge. The same
// table runs through the GitLab forge (adapter-gitlab) and plain git (gitops): keep them alike.
const image = (version: string) => `registry.example.com/checkout:${version}`;
const scenario = {
  file: "apps/checkout/deployment.yaml",
  /** Versions the file went through, oldest first: the repo now runs the last one. */
  history: ["v1.0.0", "v1.1.0", "v1.2.0"],
  from: image("v1.2.0"),
  to: image("v1.1.0"),
  incident: makeIncident({
    id: "inc-checkout-1",
    service: "checkout",
    key: "checkout/HighErrorRate",
    alertname: "HighErrorRate",
  }),
  decision: {
    action: "rollback",
    params: {},
    reason: "error rate 30% after v1.2.0",
    escalate: false,
  } satisfies Decision,
  title: "selfheal: rollback checkout (HighErrorRate)",
  labels: ["selfheal", "selfheal/rollback"],
  /** How the change request says to stop automation. */
  stop: ["`selfheal/skip`", "`SELFHEAL_KILL_SWITCH=1`"],
  /** Bad input: more replicas than the cap allows. */
  overCap: {
    maxReplicas: 5,
    decision: {
      action: "scale_up",
      params: { replicas: 9 },
      reason: "latency",
      escalate: false,
    } satisfies Decision,
    message: "above the replica cap: 5",
  },
} as const;

const deployment = (version: string) =>
  [
    "# checkout: owned by team shop",
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    "  name: checkout",
    "spec:",
    "  replicas: 2 # raised by hand in March",
    "  template:",
    "    spec:",
    "      containers:",
    "        - name: checkout",
    `          image: "${image(version)}"  # keep quoted`,
    "",
  ].join("\n");

const signal = () => AbortSignal.timeout(20_000);
const { start } = useStandIns();
let server: GitHttpServer;
let scratch: string;
let repos = 0;

beforeAll(async () => {
  server = await startGitHttpServer();
  scratch = await mkdtemp(join(tmpdir(), "selfheal-github-scenario-"));
});

afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

/** A config repo on the real git server, a GitHub stand-in sharing it, and a remediator on both. */
async function setup(commitVia: "git" | "api", settings: { readonly maxReplicas?: number } = {}) {
  const [first = "", ...later] = scenario.history;
  const name = `config-${++repos}`;
  const { url, path } = await server.createRepo(
    name,
    { [scenario.file]: deployment(first), "README.md": "config\n" },
    {
      commits: later.map((version) => ({
        message: version,
        files: { [scenario.file]: deployment(version) },
      })),
    },
  );
  // Git pushes and API writes land in one repository, as on GitHub.
  const stand = await start({ tokens: [token], gitDir: path });
  const remediator = (dir: string): Remediator =>
    gitopsRemediator({
      workspace: openGitWorkspace({ url, dir: join(scratch, dir) }),
      // One attempt: a 502 reaches the remediator instead of being retried after a second.
      forge: githubForge({
        owner: "acme",
        repo: "config",
        auth: { token },
        baseUrl: stand.url,
        minMutationIntervalMs: 0,
        maxAttempts: 1,
      }),
      commitVia,
      mergePollMs: 10,
      ...settings,
    });
  return {
    stand,
    git: bareRepo(path),
    remediator: remediator(name),
    restarted: () => remediator(`${name}-b`),
  };
}

async function planOf(remediator: Remediator, decision: Decision = scenario.decision) {
  const idempotencyKey = idempotencyKeyFor(scenario.incident.id, decision.action);
  return remediator.plan({ incident: scenario.incident, decision, idempotencyKey, signal: signal() });
}

async function apply(remediator: Remediator, plan: RemediationPlan): Promise<RemediationResult> {
  const at = new Date().toISOString();
  const outcome = await remediator.apply({ incident: scenario.incident, plan, signal: signal() });
  return RemediationResult.parse({
    ...outcome,
    idempotencyKey: plan.idempotencyKey,
    startedAt: at,
    finishedAt: at,
  });
}

/** The `-`/`+` lines of a unified diff. */
const changedLines = (diff: string | undefined) =>
  (diff ?? "").split("\n").filter((line) => /^[-+](?![-+]{2} )/.test(line));

function expectRollbackPlan(plan: RemediationPlan) {
  expect(plan.params).toMatchObject({
    action: "rollback",
    file: scenario.file,
    from: scenario.from,
    to: scenario.to,
  });
  const manifest = plan.changes.find((change) => change.target === scenario.file);
  expect(changedLines(manifest?.diff)).toEqual([
    `-          image: "${scenario.from}"  # keep quoted`,
    `+          image: "${scenario.to}"  # keep quoted`,
  ]);
  // The only other file is the quarantine of the version rolled back from.
  expect(plan.changes.map((change) => change.target).sort()).toEqual([
    ".selfheal/quarantine/checkout.yaml",
    scenario.file,
  ]);
}

/** One selfheal branch, one commit on it, one pull request from it. */
function expectOneOfEach(git: BareRepo, stand: GithubStandIn, plan: RemediationPlan, head: string) {
  const branch = branchName(plan.idempotencyKey);
  expect([...git.refs("heads/selfheal/")]).toEqual([[`refs/heads/${branch}`, head]]);
  const commit = git.commit(head);
  expect(commit?.parents).toEqual([git.ref("heads/main")]);
  expect(commit?.message).toContain(`Selfheal-Key: ${plan.idempotencyKey}`);
  expect(stand.model.pulls.map((pull) => [pull.number, pull.head, pull.base])).toEqual([[1, branch, "main"]]);
}

const writes = (stand: GithubStandIn) =>
  stand.calls.filter((call) => call.method !== "GET").map((call) => call.operationId);
const apiCommit = ["git/create-tree", "git/create-commit", "git/create-ref"];

describe.each(["git", "api"] as const)("GitOps remediation through GitHub, commits via %s", (commitVia) => {
  it("rolls back in one pull request, applied twice: the second finds it; merged on GitHub → applied", async () => {
    const { stand, git, remediator } = await setup(commitVia);
    const plan = await planOf(remediator);
    expectRollbackPlan(plan);

    const first = await apply(remediator, plan);
    expect(first).toMatchObject({
      status: "pending_merge",
      reused: false,
      changeRequest: { id: "1", state: "open" },
    });
    const pull = stand.model.pulls[0];
    expect(pull?.title).toBe(scenario.title);
    expect(pull?.labels).toEqual(scenario.labels);
    for (const text of [scenario.incident.id, scenario.decision.reason, ...scenario.stop])
      expect(pull?.body).toContain(text);
    expect(git.ref(`heads/${branchName(plan.idempotencyKey)}`)).toBe(first.revision);

    const second = await apply(remediator, plan);
    expect(second).toMatchObject({ status: "pending_merge", reused: true, revision: first.revision });
    expect(second.changeRequest).toEqual(first.changeRequest);
    expectOneOfEach(git, stand, plan, first.revision ?? "");
    // The second apply only looked: every write is from the first.
    expect(writes(stand)).toEqual([
      ...(commitVia === "api" ? apiCommit : []),
      "pulls/create",
      "issues/add-labels",
    ]);
    expect(
      git.blob(git.files(git.commit(git.ref("heads/main") ?? "")?.tree ?? "")?.get(scenario.file) ?? ""),
    ).toBe(deployment("v1.2.0"));

    // A reviewer merges the pull request on GitHub.
    const mergeSha = stand.model.merge(pull ?? expect.unreachable("no pull request"), "merge");
    const merged = await remediator.awaitMerge?.({
      incident: scenario.incident,
      plan,
      result: second,
      signal: signal(),
    });
    expect(merged).toMatchObject({
      status: "applied",
      revision: mergeSha,
      changeRequest: { id: "1", state: "merged" },
    });
    const main = git.commit(git.ref("heads/main") ?? "");
    expect(git.blob(git.files(main?.tree ?? "")?.get(scenario.file) ?? "")).toBe(deployment("v1.1.0"));
  });

  it("after a crash between push and opening the pull request, and after a restart: one branch, one commit, one pull request", async () => {
    const { stand, git, remediator, restarted } = await setup(commitVia);
    const plan = await planOf(remediator);
    // GitHub fails once while opening: the branch is pushed, the pull request is not there.
    stand.failNext("pulls/create", { status: 502, body: errorBody("Server Error") });
    const crashed = await apply(remediator, plan).catch((error: unknown) => error);
    expect(crashed).toBeInstanceOf(ForgeError);
    expect(crashed).toMatchObject({ kind: "unavailable", status: 502 });
    const pushed = git.ref(`heads/${branchName(plan.idempotencyKey)}`);
    expect(pushed).toMatch(/^[0-9a-f]{40}$/);
    expect(stand.model.pulls).toEqual([]);

    const resumed = await apply(remediator, plan);
    expect(resumed).toMatchObject({
      status: "pending_merge",
      reused: true,
      revision: pushed,
      changeRequest: { id: "1" },
    });
    const afterRestart = await apply(restarted(), plan);
    expect(afterRestart).toMatchObject({
      status: "pending_merge",
      reused: true,
      revision: pushed,
      changeRequest: { id: "1" },
    });
    expectOneOfEach(git, stand, plan, pushed ?? "");
    expect(writes(stand)).toEqual([
      ...(commitVia === "api" ? apiCommit : []),
      "pulls/create",
      "pulls/create",
      "issues/add-labels",
    ]);
  });

  it("refuses more replicas than the cap: escalates, writes nothing to GitHub or git", async () => {
    const { stand, git, remediator } = await setup(commitVia, { maxReplicas: scenario.overCap.maxReplicas });
    const before = git.refs("");
    const error = await planOf(remediator, scenario.overCap.decision).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RemediationError);
    expect(error).toMatchObject({ escalate: true });
    expect((error as Error).message).toContain(scenario.overCap.message);
    expect(writes(stand)).toEqual([]);
    expect(git.refs("")).toEqual(before);
  });
});
