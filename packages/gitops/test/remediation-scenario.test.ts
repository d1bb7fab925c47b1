import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RemediationError, type Remediator } from "@selfheal/core";
import { makeIncident } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitopsRemediator, openGitWorkspace } from "../src/index.js";
import { runGit } from "../src/testing/git-command.js";
import {
  applyScenario,
  checkoutDeployment,
  createCheckoutConfigRepo,
  expectedRollbackPlan,
  type GitHttpServer,
  planScenario,
  remediationScenario as scenario,
  startGitHttpServer,
  summarizeRollbackPlan,
} from "../src/testing/index.js";

// The remediation scenario of the GitOps remediator (src/testing/remediation-scenario.ts), run
// through plain git (direct commits). The same table runs through the GitHub and GitLab forges
// (adapter-github, adapter-gitlab). Plain git has no change requests, so title, labels and text
// go unused here.

const incident = makeIncident(scenario.incident);
let server: GitHttpServer;
let scratch: string;
let repos = 0;

beforeAll(async () => {
  server = await startGitHttpServer();
  scratch = await mkdtemp(join(tmpdir(), "selfheal-git-scenario-"));
});

afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

/** A config repo on the real git server and a remediator committing straight to its main. */
async function setup(settings: { readonly maxReplicas?: number } = {}) {
  const name = `config-${++repos}`;
  const { url, path } = await createCheckoutConfigRepo(server, name);
  // No forge: plainGitForge(), direct commits.
  const remediator = (dir: string): Remediator =>
    gitopsRemediator({ workspace: openGitWorkspace({ url, dir: join(scratch, dir) }), ...settings });
  const git = (...args: string[]) => runGit(["--git-dir", path, ...args]);
  return { git, remediator: remediator(name), restarted: () => remediator(`${name}-b`) };
}

describe("GitOps remediation through plain git (direct commits)", () => {
  it("rolls back in one commit on main, applied twice and after a restart: the later ones find it", async () => {
    const { git, remediator, restarted } = await setup();
    const plan = await planScenario(remediator, incident);
    expect(summarizeRollbackPlan(plan)).toEqual(expectedRollbackPlan);
    expect(plan.details).toMatchObject({ gitops: { mode: "direct", base: "main" } });

    const first = await applyScenario(remediator, incident, plan);
    const main = (await git("rev-parse", "main")).trim();
    expect(first).toMatchObject({ status: "applied", reused: false, revision: main });
    expect(first.changeRequest).toBeUndefined();
    const message = await git("log", "-1", "--format=%B", "main");
    for (const text of [`Selfheal-Incident: ${incident.id}`, `Selfheal-Key: ${plan.idempotencyKey}`])
      expect(message).toContain(text);
    expect(message).toContain(scenario.decision.reason);

    const second = await applyScenario(remediator, incident, plan);
    expect(second).toMatchObject({ status: "applied", reused: true, revision: main });
    // Plain git has no change request to open: the crash to survive is one after the push, before
    // the outcome was recorded. A restarted controller (a fresh clone) finds the commit by its key.
    const afterRestart = await applyScenario(restarted(), incident, plan);
    expect(afterRestart).toMatchObject({ status: "applied", reused: true, revision: main });

    // One commit on top of the history, no branch besides main.
    expect(await git("rev-list", "--count", "main")).toBe(`${scenario.history.length + 1}\n`);
    expect(await git("for-each-ref", "--format=%(refname)", "refs/heads/")).toBe("refs/heads/main\n");
    expect((await git("diff", "--name-only", "main~1", "main")).split("\n").filter(Boolean).sort()).toEqual([
      ".selfheal/quarantine/checkout.yaml",
      scenario.file,
    ]);
    expect(await git("show", `main:${scenario.file}`)).toBe(checkoutDeployment("v1.1.0"));
  });

  it("refuses more replicas than the cap: escalates, no ref changes on the git server", async () => {
    const { git, remediator } = await setup({ maxReplicas: scenario.overCap.maxReplicas });
    const before = await git("for-each-ref");
    const error = await planScenario(remediator, incident, scenario.overCap.decision).catch(
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(RemediationError);
    expect(error).toMatchObject({ escalate: true });
    expect((error as Error).message).toContain(scenario.overCap.message);
    expect(await git("for-each-ref")).toBe(before);
  });
});
