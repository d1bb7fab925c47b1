// The local demo (`pnpm demo`): two incidents through the whole loop on this machine, for real.
//
// A git server holds a config repo where checkout runs v1.1.0 on 3 replicas; the "release
// pipeline" pushes v1.2.0, which fails 30 % of requests, and the local sync agent (Argo CD's API)
// deploys it. Prometheus scrapes the service and fires HighErrorRate through Alertmanager to the
// controller (when both are installed; otherwise the demo scrapes the service itself and posts
// the same webhook), the built-in policy decides a rollback, the GitOps remediator opens a change
// request which the demo merges as a reviewer would, the agent syncs, and the controller
// verifies the recovery. Then a traffic surge saturates the CPU of the 3 replicas (cAdvisor and
// kube-state-metrics series of the sample service's simulated pods): HighCPU fires, the policy
// raises the replicas to 4 with the config repo's count and cap, and the same remediator, agent
// and verifier close that loop too. Everything started is stopped at the end; the folder with the
// audit trail and a clone of the config repo is kept. SELFHEAL_DEMO_PROMETHEUS=off forces the fallback.
// SELFHEAL_DEMO_POLICY=opa decides through a real OPA serving the shipped Rego (built by
// scripts/go-tools.sh) instead of the built-in policy.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type OpaPolicy, opaPolicy } from "@selfheal/adapter-opa";
import {
  expectedOpaPath,
  findOpa,
  OpaMissingError,
  opaVersion,
  type RunningOpa,
  shippedPolicyFile,
  startOpa,
} from "@selfheal/adapter-opa/testing";
import { binaryAvailable } from "@selfheal/adapter-prometheus/testing";
import { fileStore } from "@selfheal/core";
import { tagOf } from "@selfheal/gitops";
import { runGit } from "@selfheal/gitops/testing";
import { z } from "zod";
import { type IncidentTimeline, startClosedLoop, type TimelineStage, timeline } from "./loop/index.js";

/** What the demo reads of a remediation result in the audit trail. */
const RecordedResult = z.object({
  result: z.object({
    revision: z.string().optional(),
    changeRequest: z.object({ url: z.string() }).optional(),
  }),
});
/** What the demo reads of a plan in the audit trail: its parameters and one-line change descriptions. */
const RecordedPlan = z.object({
  plan: z.object({
    params: z.object({ to: z.union([z.string(), z.number()]).optional() }),
    changes: z.array(z.object({ description: z.string() })),
  }),
});
type RecordedPlan = z.infer<typeof RecordedPlan>["plan"];

/** One fault the demo injects, and how its timeline reads. */
interface Scenario {
  readonly alertname: string;
  /** The timeline's first line. */
  readonly fault: string;
  /** What the verified symptom is called (`error rate`). */
  readonly symptom: string;
  /** The commit's change in a few words, from the recorded plan. */
  readonly change: (plan: RecordedPlan) => string;
  /** Inject the fault; resolves at the time it is live. */
  readonly inject: () => Promise<Date>;
}

const demoDir = await mkdtemp(join(tmpdir(), "selfheal-demo-"));
const stateDir = join(demoDir, "state");
const repoCopy = join(demoDir, "config-repo");
const installed = (
  await Promise.all(["/usr/bin/prometheus", "/usr/bin/prometheus-alertmanager"].map(binaryAvailable))
).every(Boolean);
const useReal = installed && process.env.SELFHEAL_DEMO_PROMETHEUS !== "off";

console.log("selfheal demo: the closed loop on this machine");
console.log(
  useReal
    ? "  using: real Prometheus and Alertmanager (1 s scrape and evaluation), a git server, the sample service, the local sync agent"
    : `  using: no Prometheus/Alertmanager (${installed ? "turned off by SELFHEAL_DEMO_PROMETHEUS=off" : "not installed"}): the demo reads the service's /metrics itself, computes the 5xx ratio and the CPU used per limit over 5 s and posts the Alertmanager webhook above 5 % and 80 %; a git server, the sample service, the local sync agent`,
);
const useOpa = process.env.SELFHEAL_DEMO_POLICY === "opa";
if (useOpa && (await findOpa()) === undefined) {
  console.error(`SELFHEAL_DEMO_POLICY=opa: ${new OpaMissingError(expectedOpaPath()).message}`);
  process.exit(1);
}
console.log(
  useOpa
    ? `  policy: the shipped Rego (policies/selfheal.rego) in OPA ${opaVersion}, with restartThreshold false in its data document`
    : "  policy: the built-in policy (SELFHEAL_DEMO_POLICY=opa: the shipped Rego in a real OPA)",
);
console.log(`  kept after the demo (not deleted): ${demoDir}`);
console.log("  starting…");

// The sample service degrades without crashing: both policies run with restartThreshold false.
let opa: { server: RunningOpa; policy: OpaPolicy } | undefined;
if (useOpa) {
  const server = await startOpa({
    files: [shippedPolicyFile],
    data: { selfheal: { config: { restartThreshold: false } } },
  });
  opa = { server, policy: opaPolicy({ url: server.url }) };
}
const loop = await startClosedLoop({
  mode: "change_request",
  observability: useReal ? "prometheus" : "direct",
  store: fileStore(stateDir),
  // The scale-up follows the rollback of the same service within seconds, which the default
  // 5-minute cooldown would suppress. 2 s is never in the way here: a new incident starts only
  // after the last one closed, and closing takes the 2 s recovery hold after the action.
  guardrails: { cooldown: "2s" },
  ...(opa === undefined ? {} : { policy: opa.policy }),
}).catch(async (error: unknown) => {
  await opa?.policy.close();
  await opa?.server.stop();
  throw error;
});
const scenarios: readonly Scenario[] = [
  {
    alertname: "HighErrorRate",
    fault: "fault injected: release v1.2.0 pushed to main and deployed; it answers 30 % of requests with 5xx",
    symptom: "error rate",
    change: (plan) => `image back to ${typeof plan.params.to === "string" ? tagOf(plan.params.to) : "?"}`,
    inject: () => loop.injectFault(),
  },
  {
    alertname: "HighCPU",
    fault:
      "traffic surge: checkout's CPU demand rises from 1.2 to 2.85 cores; its 3 replicas run at 95 % of their 1-core limit",
    symptom: "cpu usage",
    // "spec.replicas 3 → 4 in apps/checkout/deployment.yaml"
    change: (plan) => plan.changes.map((change) => change.description).join("; "),
    inject: () => loop.injectCpuSurge(2.85),
  },
];
const outcomes: string[] = [];
let resolved = 0;
try {
  console.log(
    `  controller ${loop.controllerUrl}, config repo ${loop.repoUrl}, Argo CD API ${loop.argocdUrl}`,
  );
  if (loop.prometheusUrl !== undefined) {
    console.log(`  Prometheus ${loop.prometheusUrl}, Alertmanager ${loop.alertmanagerUrl}`);
  }
  if (opa !== undefined) console.log(`  OPA ${opa.server.url}`);
  const commits: string[] = [];
  for (const scenario of scenarios) {
    console.log("");
    console.log(`${scenario.alertname}:`);
    const faultAt = await scenario.inject();
    // The demo plays the reviewer: it merges the change request once the controller waits for it.
    const { incident } = await loop.untilClosed({
      timeoutMs: 60_000,
      merge: true,
      alertname: scenario.alertname,
    });
    const trail = await timeline(loop.controller.store, incident.id, faultAt);
    for (const stage of trail.stages) {
      for (const line of describe(stage, scenario, trail)) {
        console.log(`  +${((stage.at.getTime() - faultAt.getTime()) / 1000).toFixed(3)}s  ${line}`);
      }
    }
    const change = trail.stages.find((stage) => stage.stage === "change");
    const revision = RecordedResult.safeParse(change?.event?.data).data?.result.revision;
    if (revision !== undefined) commits.push(revision);
    const done = trail.incident.state === "resolved" && trail.mttr_s !== undefined;
    if (done) resolved++;
    outcomes.push(
      done
        ? `${incident.id} resolved: MTTR ${trail.mttr_s?.toFixed(3)} s`
        : `${incident.id} not resolved: ${trail.incident.state}: ${trail.incident.closeReason ?? ""}`,
    );
  }
  // The bare repo goes with the git server: keep a clone for the user to read.
  await runGit(["clone", "--quiet", loop.repoPath, repoCopy]);
  console.log("");
  console.log("where to look:");
  for (const revision of commits) {
    console.log(`  the commit:      git -C ${repoCopy} show ${revision.slice(0, 12)}`);
  }
  console.log(`  the history:     git -C ${repoCopy} log --oneline --graph main`);
  // A config naming the demo's store, so the `selfheal` command can show the ledger.
  const auditConfig = join(demoDir, "selfheal.yaml");
  await writeFile(
    auditConfig,
    "# The demo's store, for `selfheal audit`.\npolicy: { builtin: {} }\nstore: { file: { dir: state } }\n",
  );
  const cli = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url));
  console.log(`  the audit trail: node ${cli} audit --config ${auditConfig}`);
  console.log(`                   (raw: ${join(stateDir, "journal-*.ndjson")})`);
  console.log(
    `  stopped:         sample service, sync agent, git server${useReal ? ", Prometheus, Alertmanager" : ""}${useOpa ? ", OPA" : ""}`,
  );
  console.log("");
  for (const outcome of outcomes) console.log(outcome);
} finally {
  await loop.stop();
  await opa?.policy.close();
  await opa?.server.stop();
}
if (resolved !== scenarios.length) process.exitCode = 1;

function describe(stage: TimelineStage, scenario: Scenario, trail: IncidentTimeline): string[] {
  const { incident } = trail;
  // The change request of this incident: its branch is named after the incident.
  const request = loop.forge?.requests.find((found) => found.branch.startsWith(`selfheal/${incident.id}/`));
  switch (stage.stage) {
    case "fault":
      return [scenario.fault];
    case "alert":
      return [
        `alert: ${scenario.alertname} firing for checkout, delivered by ${useReal ? "Alertmanager" : "the demo's scraper"}`,
      ];
    case "decision":
      return [`decision: ${stage.detail}`];
    case "change": {
      const result = RecordedResult.safeParse(stage.event?.data).data?.result;
      const planned = trail.events.find((event) => event.type === "remediation.planned");
      const plan = RecordedPlan.safeParse(planned?.data).data?.plan;
      return [
        `commit: ${result?.revision?.slice(0, 12) ?? "?"} (${plan === undefined ? "?" : scenario.change(plan)}) pushed to ${request?.branch ?? "main"}`,
        ...(request === undefined
          ? []
          : [`change request #${request.id} opened: "${request.title}" ${result?.changeRequest?.url ?? ""}`]),
      ];
    }
    case "merge":
      return [
        `change request #${request?.id ?? "?"} merged by the demo (standing in for a reviewer): main at ${incident.result?.revision?.slice(0, 12) ?? "?"}`,
      ];
    case "sync":
      return [`sync: ${stage.detail}`];
    case "verified":
      return [
        `verified: ${stage.detail.replace(/^prometheus-recovery: .*? stayed/, `${scenario.symptom} stayed`).replace(/^direct-recovery: /, "")}`,
      ];
    case "closed":
      return [`incident closed: ${incident.state}`];
    default:
      return [`${stage.stage}: ${stage.detail}`];
  }
}
