// The local demo: one incident through the whole loop on this machine, printed stage by stage.
//
// What is real: the webhook server and its checks, the file store (journal + fsync), the
// built-in policy, guardrails, the audit trail, and a change to a manifest in a config folder.
// What is simulated until later issues land: the metrics (Prometheus enrichment), the git
// repository and change request (GitOps remediation), and the sync/recovery check.
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { alertmanagerWebhook, firingPayload } from "@selfheal/adapter-prometheus";
import {
  type AuditEvent,
  builtinPolicy,
  createController,
  type Enricher,
  fileStore,
  type Remediator,
  silentLogger,
  type Verifier,
} from "@selfheal/core";

const work = await mkdtemp(join(tmpdir(), "selfheal-demo-"));
const manifest = join(work, "config-repo", "checkout-deployment.yaml");
const stateDir = join(work, "state");
await mkdir(join(work, "config-repo"), { recursive: true });
await writeFile(
  manifest,
  [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    "  name: checkout # the shop's checkout service",
    "spec:",
    "  replicas: 3",
    "  template:",
    "    spec:",
    "      containers:",
    "        - name: checkout",
    "          image: registry.example.com/checkout:v1.2.0 # deployed 10 minutes ago",
    "",
  ].join("\n"),
);

const imageLine = /^(\s*image:\s*)(\S+)(.*)$/m;
const currentImage = async () => imageLine.exec(await readFile(manifest, "utf8"))?.[2];

/** Simulated until the Prometheus enricher: the numbers v1.2.0 shows. */
const metrics: Enricher = {
  name: "demo-metrics",
  async enrich() {
    return {
      metrics: { error_rate: 0.3, restart_count: 5 },
      deployment: { image: await currentImage(), previous_image: "registry.example.com/checkout:v1.1.0" },
    };
  },
};

/** Edits the image in the manifest, touching only that scalar; idempotent on the target image. */
const manifestRollback: Remediator = {
  name: "manifest",
  actions: ["rollback"],
  async plan({ incident, decision, idempotencyKey }) {
    const from = await currentImage();
    const to = String(decision.params.image);
    return {
      idempotencyKey,
      incidentId: incident.id,
      service: incident.service,
      action: "rollback",
      params: { image: to },
      remediator: "manifest",
      summary: `roll ${incident.service} back from ${from} to ${to}`,
      changes: [{ target: manifest, description: `image ${from} → ${to}` }],
    };
  },
  async apply({ plan }) {
    const text = await readFile(manifest, "utf8");
    const target = String(plan.params.image);
    if (imageLine.exec(text)?.[2] === target) return { status: "applied", reused: true };
    await writeFile(manifest, text.replace(imageLine, `$1${target}$3`));
    return { status: "applied", revision: target };
  },
};

/** Simulated until the Argo CD and Prometheus verifiers: the manifest states the good image. */
const configCheck: Verifier = {
  name: "manifest-check",
  async verify({ plan }) {
    const image = await currentImage();
    const ok = image === plan.params.image;
    return {
      verifier: "manifest-check",
      outcome: ok ? "passed" : "failed",
      reason: `manifest image is ${image}`,
      observedAt: new Date().toISOString(),
    };
  },
};

const controller = createController({
  sources: [alertmanagerWebhook({ path: "/webhook" })],
  enrich: [metrics],
  policy: builtinPolicy(),
  remediate: manifestRollback,
  verify: [configCheck],
  store: fileStore(stateDir),
  logger: silentLogger,
});
const { url } = await controller.listen({ port: 0, host: "127.0.0.1" });
const faultAt = new Date();
console.log(`selfheal demo: controller on ${url}, state in ${stateDir}`);
console.log(`  ${clock(faultAt)}  fault injected: checkout v1.2.0 answers 30% of requests with 5xx`);

// What Alertmanager posts when HighErrorRate fires (webhook payload version 4).
const payload = firingPayload({
  groupLabels: { alertname: "HighErrorRate" },
  alerts: [
    {
      labels: {
        alertname: "HighErrorRate",
        namespace: "shop",
        pod: "checkout-7d9f8b6c5d-x2k4p",
        service: "checkout",
        severity: "critical",
      },
      annotations: { summary: "checkout error rate above 5%" },
      startsAt: faultAt.toISOString(),
      fingerprint: "5c2a8e0f3b7d41a9",
    },
  ],
});
const response = await fetch(`${url}/webhook`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(payload),
});
console.log(`  ${clock(new Date())}  alert delivered: webhook answered ${response.status}`);
await controller.settled();

const [incident] = await controller.store.listIncidents();
const events = incident === undefined ? [] : await controller.store.listEvents({ incidentId: incident.id });
for (const event of events.filter(shown)) console.log(`  ${clock(new Date(event.at))}  ${describe(event)}`);
await controller.close();

if (incident?.state !== "resolved" || incident.closedAt === undefined) {
  console.error(`the incident did not resolve: ${incident?.state} ${incident?.closeReason ?? ""}`);
  process.exit(1);
}
const mttr = (Date.parse(incident.closedAt) - Date.parse(incident.startsAt)) / 1000;
console.log(`\nresolved: ${incident.id}, MTTR ${mttr.toFixed(3)} s`);
console.log(`  the change:      ${manifest} (image now ${await currentImage()})`);
console.log(`  the audit trail: ${join(stateDir, "journal-*.ndjson")}`);
console.log(
  "  simulated here:  metrics, git and the change request, sync; they become real with the Prometheus, GitOps and Argo CD adapters",
);

function clock(date: Date): string {
  return `+${((date.getTime() - faultAt.getTime()) / 1000).toFixed(3)}s`;
}

function shown(event: AuditEvent): boolean {
  return [
    "incident.opened",
    "decision.made",
    "decision.failed",
    "guardrail.passed",
    "guardrail.suppressed",
    "remediation.completed",
    "verification.passed",
    "verification.failed",
    "incident.closed",
  ].includes(event.type);
}

function describe(event: AuditEvent): string {
  switch (event.type) {
    case "incident.opened":
      return `incident opened: ${event.message.replace("incident opened: ", "")}`;
    case "decision.made":
      return `decision: ${event.message}`;
    case "remediation.completed":
      return `change made: ${event.message}`;
    default:
      return `${event.type}: ${event.message}`;
  }
}
