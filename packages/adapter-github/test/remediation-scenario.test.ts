import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ForgeError, RemediationError, type RemediationPlan, type Remediator } from "@selfheal/core";
import { makeIncident } from "@selfheal/core/testing";
import { branchName, gitopsRemediator, openGitWorkspace } from "@selfheal/gitops";
import {
  applyScenario,
  type BareRepo,
  checkoutDeployment,
  createCheckoutConfigRepo,
  expectedRollbackPlan,
  type GitHttpServer,
  openBareRepo,
  planScenario,
  remediationScenario as scenario,
  scenarioSignal,
  startGitHttpServer,
  summarizeRollbackPlan,
} from "@selfheal/gitops/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { githubForge } from "../src/index.js";
import { token, useStandIns } from "./support/forge-harness.js";
import type { GithubStandIn } from "./support/github-stand-in.js";
import { errorBody } from "./support/stand-in-handlers.js";

// The remediation scenario of the GitOps remediator (@selfheal/gitops/testing), run through the
// GitHub forge. The same table runs through the GitLab forge (adapter-gitlab) and plain git
// (gitops).

const incident = makeIncident(scenario.incident);
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
  const name = `config-${++repos}`;
  const { url, path } = await createCheckoutConfigRepo(server, name);
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
    git: openBareRepo(path),
    remediator: remediator(name),
    restarted: () => remediator(`${name}-b`),
  };
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
    const plan = await planScenario(remediator, incident);
    expect(summarizeRollbackPlan(plan)).toEqual(expectedRollbackPlan);

    const first = await applyScenario(remediator, incident, plan);
    expect(first).toMatchObject({
      status: "pending_merge",
      reused: false,
      changeRequest: { id: "1", state: "open" },
    });
    const pull = stand.model.pulls[0];
    expect(pull?.title).toBe(scenario.title);
    expect(pull?.labels).toEqual(scenario.labels);
    for (const text of [incident.id, scenario.decision.reason, ...scenario.stop])
      expect(pull?.body).toContain(text);
    expect(git.ref(`heads/${branchName(plan.idempotencyKey)}`)).toBe(first.revision);

    const second = await applyScenario(remediator, incident, plan);
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
    ).toBe(checkoutDeployment("v1.2.0"));

    // A reviewer merges the pull request on GitHub.
    const mergeSha = stand.model.merge(pull ?? expect.unreachable("no pull request"), "merge");
    const merged = await remediator.awaitMerge?.({
      incident,
      plan,
      result: second,
      signal: scenarioSignal(),
    });
    expect(merged).toMatchObject({
      status: "applied",
      revision: mergeSha,
      changeRequest: { id: "1", state: "merged" },
    });
    const main = git.commit(git.ref("heads/main") ?? "");
    expect(git.blob(git.files(main?.tree ?? "")?.get(scenario.file) ?? "")).toBe(
      checkoutDeployment("v1.1.0"),
    );
  });

  it("after a crash between push and opening the pull request, and after a restart: one branch, one commit, one pull request", async () => {
    const { stand, git, remediator, restarted } = await setup(commitVia);
    const plan = await planScenario(remediator, incident);
    // GitHub fails once while opening: the branch is pushed, the pull request is not there.
    stand.failNext("pulls/create", { status: 502, body: errorBody("Server Error") });
    const crashed = await applyScenario(remediator, incident, plan).catch((error: unknown) => error);
    expect(crashed).toBeInstanceOf(ForgeError);
    expect(crashed).toMatchObject({ kind: "unavailable", status: 502 });
    const pushed = git.ref(`heads/${branchName(plan.idempotencyKey)}`);
    expect(pushed).toMatch(/^[0-9a-f]{40}$/);
    expect(stand.model.pulls).toEqual([]);

    const resumed = await applyScenario(remediator, incident, plan);
    expect(resumed).toMatchObject({
      status: "pending_merge",
      reused: true,
      revision: pushed,
      changeRequest: { id: "1" },
    });
    const afterRestart = await applyScenario(restarted(), incident, plan);
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
    const error = await planScenario(remediator, incident, scenario.overCap.decision).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(RemediationError);
    expect(error).toMatchObject({ escalate: true });
    expect((error as Error).message).toContain(scenario.overCap.message);
    expect(writes(stand)).toEqual([]);
    expect(git.refs("")).toEqual(before);
  });
});
