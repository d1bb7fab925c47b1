import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Decision,
  idempotencyKeyFor,
  RemediationError,
  type RemediationPlan,
  RemediationResult,
  type Remediator,
} from "@selfheal/core";
import { makeIncident } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gitopsRemediator, openGitWorkspace } from "../src/index.js";
import { runGit } from "../src/testing/git-command.js";
import { type GitHttpServer, startGitHttpServer } from "../src/testing/index.js";

// The remediation scenario of the GitOps remediator, run through plain git (direct commits).
// The same table runs through the GitHub and GitLab forges (adapter-github, adapter-gitlab):
// keep them alike. Plain git has no change requests, so title, labels and text go unused here.
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
  // No forge: plainGitForge(), direct commits.
  const remediator = (dir: string): Remediator =>
    gitopsRemediator({ workspace: openGitWorkspace({ url, dir: join(scratch, dir) }), ...settings });
  const git = (...args: string[]) => runGit(["--git-dir", path, ...args]);
  return { git, remediator: remediator(name), restarted: () => remediator(`${name}-b`) };
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

describe("GitOps remediation through plain git (direct commits)", () => {
  it("rolls back in one commit on main, applied twice and after a restart: the later ones find it", async () => {
    const { git, remediator, restarted } = await setup();
    const plan = await planOf(remediator);
    expectRollbackPlan(plan);
    expect(plan.details).toMatchObject({ gitops: { mode: "direct", base: "main" } });

    const first = await apply(remediator, plan);
    const main = (await git("rev-parse", "main")).trim();
    expect(first).toMatchObject({ status: "applied", reused: false, revision: main });
    expect(first.changeRequest).toBeUndefined();
    const message = await git("log", "-1", "--format=%B", "main");
    for (const text of [`Selfheal-Incident: ${scenario.incident.id}`, `Selfheal-Key: ${plan.idempotencyKey}`])
      expect(message).toContain(text);
    expect(message).toContain(scenario.decision.reason);

    const second = await apply(remediator, plan);
    expect(second).toMatchObject({ status: "applied", reused: true, revision: main });
    // Plain git has no change request to open: the crash to survive is one after the push, before
    // the outcome was recorded. A restarted controller (a fresh clone) finds the commit by its key.
    const afterRestart = await apply(restarted(), plan);
    expect(afterRestart).toMatchObject({ status: "applied", reused: true, revision: main });

    // One commit on top of the history, no branch besides main.
    expect(await git("rev-list", "--count", "main")).toBe(`${scenario.history.length + 1}\n`);
    expect(await git("for-each-ref", "--format=%(refname)", "refs/heads/")).toBe("refs/heads/main\n");
    expect((await git("diff", "--name-only", "main~1", "main")).split("\n").filter(Boolean).sort()).toEqual([
      ".selfheal/quarantine/checkout.yaml",
      scenario.file,
    ]);
    expect(await git("show", `main:${scenario.file}`)).toBe(deployment("v1.1.0"));
  });

  it("refuses more replicas than the cap: escalates, no ref changes on the git server", async () => {
    const { git, remediator } = await setup({ maxReplicas: scenario.overCap.maxReplicas });
    const before = await git("for-each-ref");
    const error = await planOf(remediator, scenario.overCap.decision).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RemediationError);
    expect(error).toMatchObject({ escalate: true });
    expect((error as Error).message).toContain(scenario.overCap.message);
    expect(await git("for-each-ref")).toBe(before);
  });
});
