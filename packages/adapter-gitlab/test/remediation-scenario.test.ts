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
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type GitLabForge, gitlabForge } from "../src/index.js";
import { type GitLabStandIn, startGitLabStandIn } from "./support/gitlab-stand-in.js";
import { contract, token } from "./support/harness.js";

// The remediation scenario of the GitOps remediator (@selfheal/gitops/testing), run through the
// GitLab forge. The same table runs through the GitHub forge (adapter-github) and plain git
// (gitops).

const incident = makeIncident(scenario.incident);
let server: GitHttpServer;
let scratch: string;
let repos = 0;
const started: { readonly standIn: GitLabStandIn; readonly forges: GitLabForge[] }[] = [];

beforeAll(async () => {
  server = await startGitHttpServer();
  scratch = await mkdtemp(join(tmpdir(), "selfheal-gitlab-scenario-"));
});

afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

// Each stand-in is checked after its test: a request outside the contract, or an interception
// left unused, fails that test.
afterEach(async () => {
  for (const { standIn, forges } of started.splice(0)) {
    for (const forge of forges) await forge.close();
    await standIn.close();
    standIn.verify();
  }
});

/** A config repo on the real git server, a GitLab stand-in sharing it, and a remediator on both. */
async function setup(commitVia: "git" | "api", settings: { readonly maxReplicas?: number } = {}) {
  const name = `config-${++repos}`;
  const { url, path } = await createCheckoutConfigRepo(server, name);
  const project = "acme/config";
  // Git pushes and API writes land in one repository, as on GitLab.
  const standIn = await startGitLabStandIn({ contract, project, token, gitDir: path });
  const forges: GitLabForge[] = [];
  started.push({ standIn, forges });
  const remediator = (dir: string): Remediator => {
    // One attempt: a 502 reaches the remediator instead of being retried.
    const forge = gitlabForge({ url: standIn.url, project, token, maxAttempts: 1 });
    forges.push(forge);
    return gitopsRemediator({
      workspace: openGitWorkspace({ url, dir: join(scratch, dir) }),
      forge,
      commitVia,
      mergePollMs: 10,
      ...settings,
    });
  };
  return {
    standIn,
    git: openBareRepo(path),
    remediator: remediator(name),
    restarted: () => remediator(`${name}-b`),
  };
}

/** `file` as committed on `branch` of the real repository. */
const fileOn = (git: BareRepo, branch: string, file: string) =>
  git.blob(git.files(git.commit(git.ref(`heads/${branch}`) ?? "")?.tree ?? "")?.get(file) ?? "");

/** One selfheal branch, one commit on it, one merge request from it. */
function expectOneOfEach(git: BareRepo, standIn: GitLabStandIn, plan: RemediationPlan, head: string) {
  const branch = branchName(plan.idempotencyKey);
  expect([...git.refs("heads/selfheal/")]).toEqual([[`refs/heads/${branch}`, head]]);
  const commit = git.commit(head);
  expect(commit?.parents).toEqual([git.ref("heads/main")]);
  expect(commit?.message).toContain(`Selfheal-Key: ${plan.idempotencyKey}`);
  expect(standIn.model.mergeRequests.map((mr) => [mr.iid, mr.sourceBranch, mr.targetBranch])).toEqual([
    [1, branch, "main"],
  ]);
}

const writes = (standIn: GitLabStandIn) =>
  standIn.calls.filter((served) => !["GET", "HEAD"].includes(served.method)).map((served) => served.route);
const apiCommit = ["createCommit"];

describe.each(["git", "api"] as const)("GitOps remediation through GitLab, commits via %s", (commitVia) => {
  it("rolls back in one merge request, applied twice: the second finds it; merged on GitLab → applied", async () => {
    const { standIn, git, remediator } = await setup(commitVia);
    const plan = await planScenario(remediator, incident);
    expect(summarizeRollbackPlan(plan)).toEqual(expectedRollbackPlan);

    const first = await applyScenario(remediator, incident, plan);
    expect(first).toMatchObject({
      status: "pending_merge",
      reused: false,
      changeRequest: { id: "1", state: "open" },
    });
    const mr = standIn.model.mergeRequests[0];
    expect(mr?.title).toBe(scenario.title);
    expect(mr?.labels).toEqual(scenario.labels);
    for (const text of [incident.id, scenario.decision.reason, ...scenario.stop])
      expect(mr?.description).toContain(text);
    expect(git.ref(`heads/${branchName(plan.idempotencyKey)}`)).toBe(first.revision);

    const second = await applyScenario(remediator, incident, plan);
    expect(second).toMatchObject({ status: "pending_merge", reused: true, revision: first.revision });
    expect(second.changeRequest).toEqual(first.changeRequest);
    expectOneOfEach(git, standIn, plan, first.revision ?? "");
    // The second apply only looked: every write is from the first.
    expect(writes(standIn)).toEqual([...(commitVia === "api" ? apiCommit : []), "createMergeRequest"]);
    expect(fileOn(git, "main", scenario.file)).toBe(checkoutDeployment("v1.2.0"));

    // A reviewer merges the merge request on GitLab.
    standIn.model.merge(mr ?? expect.unreachable("no merge request"), false);
    const merged = await remediator.awaitMerge?.({
      incident,
      plan,
      result: second,
      signal: scenarioSignal(),
    });
    expect(merged).toMatchObject({
      status: "applied",
      revision: git.ref("heads/main"),
      changeRequest: { id: "1", state: "merged" },
    });
    expect(mr?.mergeCommitSha).toBe(git.ref("heads/main"));
    expect(fileOn(git, "main", scenario.file)).toBe(checkoutDeployment("v1.1.0"));
  });

  it("after a crash between push and opening the merge request, and after a restart: one branch, one commit, one merge request", async () => {
    const { standIn, git, remediator, restarted } = await setup(commitVia);
    const plan = await planScenario(remediator, incident);
    // GitLab fails once while opening: the branch is pushed, the merge request is not there.
    standIn.intercept("createMergeRequest", { status: 502, body: { message: "502 Bad Gateway" } });
    const crashed = await applyScenario(remediator, incident, plan).catch((error: unknown) => error);
    expect(crashed).toBeInstanceOf(ForgeError);
    expect(crashed).toMatchObject({ kind: "unavailable", status: 502 });
    const pushed = git.ref(`heads/${branchName(plan.idempotencyKey)}`);
    expect(pushed).toMatch(/^[0-9a-f]{40}$/);
    expect(standIn.model.mergeRequests).toEqual([]);

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
    expectOneOfEach(git, standIn, plan, pushed ?? "");
    expect(writes(standIn)).toEqual([
      ...(commitVia === "api" ? apiCommit : []),
      "createMergeRequest",
      "createMergeRequest",
    ]);
  });

  it("refuses more replicas than the cap: escalates, writes nothing to GitLab or git", async () => {
    const { standIn, git, remediator } = await setup(commitVia, {
      maxReplicas: scenario.overCap.maxReplicas,
    });
    const before = git.refs("");
    const error = await planScenario(remediator, incident, scenario.overCap.decision).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(RemediationError);
    expect(error).toMatchObject({ escalate: true });
    expect((error as Error).message).toContain(scenario.overCap.message);
    expect(writes(standIn)).toEqual([]);
    expect(git.refs("")).toEqual(before);
  });
});
