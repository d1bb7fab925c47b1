// The local demo (`pnpm demo`): one incident through the whole loop on this machine, for real.
//
// A git server holds a config repo where checkout runs v1.1.0; the "release pipeline" pushes
// v1.2.0, which fails 30 % of requests, and the local sync agent (Argo CD's API) deploys it.
// Prometheus scrapes the service and fires HighErrorRate through Alertmanager to the controller
// (when both are installed; otherwise the demo scrapes the service itself and posts the same
// webhook), the built-in policy decides a rollback, the GitOps remediator opens a change
// request which the demo merges as a reviewer would, the agent syncs, and the controller
// verifies the recovery. Everything started is stopped at the end; the folder with the audit
// trail and a clone of the config repo is kept. SELFHEAL_DEMO_PROMETHEUS=off forces the fallback.
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
import { fileStore, type Incident } from "@selfheal/core";
import { runGit } from "@selfheal/gitops/testing";
import { z } from "zod";
import { type ClosedLoop, startClosedLoop, type TimelineStage, timeline } from "./loop/index.js";

/** What the demo reads of a remediation result in the audit trail. */
const RecordedResult = z.object({
  result: z.object({
    revision: z.string().optional(),
    changeRequest: z.object({ url: z.string() }).optional(),
  }),
});

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
    : `  using: no Prometheus/Alertmanager (${installed ? "turned off by SELFHEAL_DEMO_PROMETHEUS=off" : "not installed"}): the demo reads the service's /metrics itself, computes the 5xx ratio over 5 s and posts the Alertmanager webhook above 5 %; a git server, the sample service, the local sync agent`,
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
  ...(opa === undefined ? {} : { policy: opa.policy }),
}).catch(async (error: unknown) => {
  await opa?.policy.close();
  await opa?.server.stop();
  throw error;
});
let resolved = false;
try {
  console.log(
    `  controller ${loop.controllerUrl}, config repo ${loop.repoUrl}, Argo CD API ${loop.argocdUrl}`,
  );
  if (loop.prometheusUrl !== undefined) {
    console.log(`  Prometheus ${loop.prometheusUrl}, Alertmanager ${loop.alertmanagerUrl}`);
  }
  if (opa !== undefined) console.log(`  OPA ${opa.server.url}`);
  console.log("");
  const faultAt = await loop.injectFault();
  // The demo plays the reviewer: it merges the change request once the controller waits for it.
  const { incident } = await loop.untilClosed({ timeoutMs: 60_000, merge: true });
  const trail = await timeline(loop.controller.store, incident.id, faultAt);
  for (const stage of trail.stages) {
    for (const line of describe(stage, trail.incident, loop)) {
      console.log(`  +${((stage.at.getTime() - faultAt.getTime()) / 1000).toFixed(3)}s  ${line}`);
    }
  }
  // The bare repo goes with the git server: keep a clone for the user to read.
  await runGit(["clone", "--quiet", loop.repoPath, repoCopy]);
  const change = trail.stages.find((stage) => stage.stage === "change");
  const revision = RecordedResult.safeParse(change?.event?.data).data?.result.revision ?? "main";
  console.log("");
  console.log("where to look:");
  console.log(`  the commit:      git -C ${repoCopy} show ${revision.slice(0, 12)}`);
  console.log(`  the history:     git -C ${repoCopy} log --oneline --graph main`);
  // A config naming the demo's store, so the `selfheal` command can show the ledger.
  const auditConfig = join(demoDir, "selfheal.yaml");
  await writeFile(
    auditConfig,
    "# The demo's store, for `selfheal audit`.\npolicy: { builtin: {} }\nstore: { file: { dir: state } }\n",
  );
  const cli = fileURLToPath(new URL("../../packages/cli/dist/bin.js", import.meta.url));
  console.log(`  the audit trail: node ${cli} audit --config ${auditConfig}`);
  console.log(`                   (raw: ${join(stateDir, "journal-*.ndjson")}, incident ${incident.id})`);
  console.log(
    `  stopped:         sample service, sync agent, git server${useReal ? ", Prometheus, Alertmanager" : ""}${useOpa ? ", OPA" : ""}`,
  );
  resolved = trail.incident.state === "resolved" && trail.mttr_s !== undefined;
  console.log("");
  console.log(
    resolved
      ? `${incident.id} resolved: MTTR ${trail.mttr_s?.toFixed(3)} s`
      : `${incident.id} not resolved: ${trail.incident.state}: ${trail.incident.closeReason ?? ""}`,
  );
} finally {
  await loop.stop();
  await opa?.policy.close();
  await opa?.server.stop();
}
if (!resolved) process.exitCode = 1;

function describe(stage: TimelineStage, incident: Incident, running: ClosedLoop): string[] {
  const request = running.forge?.requests[0];
  switch (stage.stage) {
    case "fault":
      return [
        "fault injected: release v1.2.0 pushed to main and deployed; it answers 30 % of requests with 5xx",
      ];
    case "alert":
      return [
        `alert: HighErrorRate firing for checkout, delivered by ${useReal ? "Alertmanager" : "the demo's scraper"}`,
      ];
    case "decision":
      return [`decision: ${stage.detail}`];
    case "change": {
      const result = RecordedResult.safeParse(stage.event?.data).data?.result;
      return [
        `commit: ${result?.revision?.slice(0, 12) ?? "?"} (image back to v1.1.0) pushed to ${request?.branch ?? "main"}`,
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
        `verified: ${stage.detail.replace(/^prometheus-recovery: .*? stayed/, "error rate stayed").replace(/^direct-recovery: /, "")}`,
      ];
    case "closed":
      return [`incident closed: ${incident.state}`];
    default:
      return [`${stage.stage}: ${stage.detail}`];
  }
}
