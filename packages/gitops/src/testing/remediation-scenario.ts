import {
  type Decision,
  type Incident,
  idempotencyKeyFor,
  type RemediationPlan,
  RemediationResult,
  type Remediator,
} from "@selfheal/core";
import type { GitHttpServer } from "./git-http-server.js";

// The remediation scenario of the GitOps remediator: one table that runs through plain git
// (gitops), the GitHub forge (adapter-github) and the GitLab forge (adapter-gitlab), so the three
// stay alike. No vitest here: this module is part of a published entry point, so it returns
// values for the tests to assert on instead of asserting itself.

/** The checkout image at `version`, as the scenario's manifests name it. */
export function checkoutImage(version: string): string {
  return `registry.example.com/checkout:${version}`;
}

/** The scenario: checkout's manifest, its history, the incident and what the remediator should do. */
export const remediationScenario = {
  /** The manifest the remediator edits. */
  file: "apps/checkout/deployment.yaml",
  /** Versions the file went through, oldest first: the repo now runs the last one. */
  history: ["v1.0.0", "v1.1.0", "v1.2.0"],
  /** The image rolled back from. */
  from: checkoutImage("v1.2.0"),
  /** The image rolled back to. */
  to: checkoutImage("v1.1.0"),
  /** Where the remediator quarantines the version rolled back from. */
  quarantine: ".selfheal/quarantine/checkout.yaml",
  /**
   * The incident being remediated (checkout, HighErrorRate), as the fields a test gives
   * `makeIncident` of `@selfheal/core/testing`. Not built here: that entry loads vitest, which
   * this one must not need.
   */
  incident: {
    id: "inc-checkout-1",
    service: "checkout",
    key: "checkout/HighErrorRate",
    alertname: "HighErrorRate",
  },
  /** The policy's decision: roll back. */
  decision: {
    action: "rollback",
    params: {},
    reason: "error rate 30% after v1.2.0",
    escalate: false,
  } satisfies Decision,
  /** The title of the change request. */
  title: "selfheal: rollback checkout (HighErrorRate)",
  /** The labels of the change request. */
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

/**
 * checkout's Deployment running `version`, with comments, a hand-written replica count and a
 * quoted image, so a test sees that an edit changes the image and nothing else.
 */
export function checkoutDeployment(version: string): string {
  return [
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
    `          image: "${checkoutImage(version)}"  # keep quoted`,
    "",
  ].join("\n");
}

/**
 * Creates the repo `name` on `server` holding the scenario's config: one commit per version of
 * `remediationScenario.history` (the manifest, and a README beside it), so checkout now runs
 * v1.2.0 and ran v1.1.0 before. Returns what `GitHttpServer.createRepo` returns.
 */
export function createCheckoutConfigRepo(
  server: GitHttpServer,
  name: string,
): Promise<{ url: string; path: string }> {
  const [first = "", ...later] = remediationScenario.history;
  const file = remediationScenario.file;
  return server.createRepo(
    name,
    { [file]: checkoutDeployment(first), "README.md": "config\n" },
    {
      commits: later.map((version) => ({ message: version, files: { [file]: checkoutDeployment(version) } })),
    },
  );
}

/** A signal for one remediator call: generous, as git over HTTP is slow on a loaded machine. */
export function scenarioSignal(): AbortSignal {
  return AbortSignal.timeout(20_000);
}

/**
 * `remediator.plan` for `incident` (the scenario's) and `decision`, with the idempotency key
 * the controller would use.
 * @default decision `remediationScenario.decision`
 */
export function planScenario(
  remediator: Remediator,
  incident: Incident,
  decision: Decision = remediationScenario.decision,
): Promise<RemediationPlan> {
  const idempotencyKey = idempotencyKeyFor(incident.id, decision.action);
  return remediator.plan({ incident, decision, idempotencyKey, signal: scenarioSignal() });
}

/** `remediator.apply` of `plan` for `incident`, completed and checked as the controller records it. */
export async function applyScenario(
  remediator: Remediator,
  incident: Incident,
  plan: RemediationPlan,
): Promise<RemediationResult> {
  const at = new Date().toISOString();
  const outcome = await remediator.apply({ incident, plan, signal: scenarioSignal() });
  return RemediationResult.parse({
    ...outcome,
    idempotencyKey: plan.idempotencyKey,
    startedAt: at,
    finishedAt: at,
  });
}

/** The `-`/`+` lines of a unified diff (its `---`/`+++` headers left out). */
export function changedLines(diff: string | undefined): string[] {
  return (diff ?? "").split("\n").filter((line) => /^[-+](?![-+]{2} )/.test(line));
}

/** What a test compares of a rollback plan: see {@link summarizeRollbackPlan}. */
export interface RollbackPlanSummary {
  /** The plan's `action`, `file`, `from` and `to` parameters (others are left out). */
  readonly params: Readonly<Record<"action" | "file" | "from" | "to", unknown>>;
  /** The changed lines of the manifest's diff. */
  readonly manifestLines: readonly string[];
  /** Every changed file, sorted. */
  readonly targets: readonly string[];
}

/** The parts of `plan` that {@link expectedRollbackPlan} pins down. */
export function summarizeRollbackPlan(plan: RemediationPlan): RollbackPlanSummary {
  const { action, file, from, to } = plan.params;
  const manifest = plan.changes.find((change) => change.target === remediationScenario.file);
  return {
    params: { action, file, from, to },
    manifestLines: changedLines(manifest?.diff),
    targets: plan.changes.map((change) => change.target).sort(),
  };
}

/**
 * The scenario's rollback plan, summarized: v1.2.0 → v1.1.0 on the image line only, and the only
 * other file is the quarantine of the version rolled back from.
 */
export const expectedRollbackPlan: RollbackPlanSummary = {
  params: {
    action: "rollback",
    file: remediationScenario.file,
    from: remediationScenario.from,
    to: remediationScenario.to,
  },
  manifestLines: [
    `-          image: "${remediationScenario.from}"  # keep quoted`,
    `+          image: "${remediationScenario.to}"  # keep quoted`,
  ],
  targets: [remediationScenario.quarantine, remediationScenario.file],
};
