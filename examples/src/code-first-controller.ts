// The seed's pull-request controller, done right with the SDK: an Alertmanager webhook in; facts
// from Prometheus and from the config repo; the built-in policy (or OPA) deciding, failing
// closed; a rollback or scale-up committed on its own branch with a pull request on GitHub;
// Argo CD asked to refresh at once; the change verified live (Argo CD Synced and Healthy at our
// commit) and effective (the error rate stays low); every step in the audit trail.
//
// Run it after `pnpm build` with the environment below set:
//   CONFIG_REPO=https://github.com/acme/config.git GITHUB_OWNER=acme GITHUB_REPO=config
//   GITHUB_TOKEN=… AM_TOKEN=… PROMETHEUS_URL=http://prometheus:9090
//   ARGOCD_URL=https://argocd.example.com ARGOCD_TOKEN=…  node examples/dist/code-first-controller.js
import { argocdRefresh, argocdSync } from "@selfheal/adapter-argocd";
import { githubForge } from "@selfheal/adapter-github";
import {
  alertmanagerWebhook,
  defaultCpuUsageQuery,
  prometheusMetrics,
  prometheusRecovery,
} from "@selfheal/adapter-prometheus";
import { builtinPolicy, createController, fileStore, jsonLogger, slackNotifier } from "@selfheal/core";
import { gitopsDeployment, gitopsRemediator, openGitWorkspace } from "@selfheal/gitops";

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`set ${name} (see the top of this file)`);
  return value;
}

const argocd = { url: required("ARGOCD_URL"), token: required("ARGOCD_TOKEN") };
const prometheus = { url: required("PROMETHEUS_URL") };
// The Argo CD application of a service: one per service, named after it.
const appOf = (service: string) => `${service}-prod`;

// A warm clone, kept between restarts: fetches are incremental, pushes send only what changed.
const workspace = openGitWorkspace({
  url: required("CONFIG_REPO"),
  dir: process.env.SELFHEAL_WORKSPACE ?? ".selfheal/config-repo",
  branch: "main",
  auth: { password: required("GITHUB_TOKEN") },
});
const refresher = argocdRefresh(argocd);
// Where a service's workload is and the most replicas it may have: the enricher and the
// remediator must see the same workload, so the policy's current_replicas is the count a
// scale-up raises (an HPA's minReplicas when an HPA owns the replicas, else spec.replicas).
const targets = {
  locate: { paths: ["overlays/prod/{service}/deployment.yaml"], globs: ["apps/**/*.yaml"] },
  maxReplicas: 10,
};

const controller = createController({
  sources: [alertmanagerWebhook({ path: "/webhook", auth: { bearer: required("AM_TOKEN") } })],
  enrich: [
    prometheusMetrics(prometheus), // error_rate, restart_count, cpu_usage, and a level check
    // image, previous image (from git history), quarantine, and the scale inputs the policy
    // reads: current_replicas, max_replicas (the lower of the HPA's maxReplicas and the cap)
    gitopsDeployment({ workspace, ...targets }),
  ],
  // The seed's rules, with missing metrics treated as unknown, an explicit precedence and
  // history from the store. Swap in `opaPolicy({ url, path: "selfheal/decision" })` for OPA.
  policy: builtinPolicy(),
  remediate: gitopsRemediator({
    workspace,
    forge: githubForge({
      owner: required("GITHUB_OWNER"),
      repo: required("GITHUB_REPO"),
      auth: { token: required("GITHUB_TOKEN") },
    }),
    ...targets,
    labels: ["automerge-candidate"],
    // Argo CD polls git every 3 minutes: ask it to look now.
    afterLanding: async ({ incident }) => void (await refresher.refresh(appOf(incident.service))),
  }),
  verify: [
    argocdSync({ ...argocd, app: (incident) => appOf(incident.service) }),
    prometheusRecovery({
      ...prometheus,
      query:
        'sum(rate(http_requests_total{status=~"5..",service="{{service}}"}[1m])) / sum(rate(http_requests_total{service="{{service}}"}[1m]))',
      threshold: 0.05,
      // A scale-up is verified by the symptom that asked for it: CPU usage back below the policy's 0.8.
      byAlert: { HighCPU: { query: defaultCpuUsageQuery, threshold: 0.8 } },
      hold: "2m",
      deadline: "15m",
    }),
  ],
  guardrails: {
    rateLimit: { max: 2, window: "30m" },
    cooldown: "10m",
    maxConcurrent: 3,
    killSwitchFile: "/etc/selfheal/stop", // touch it to stop every automated change
    dryRun: process.env.DRY_RUN === "1",
  },
  store: fileStore(process.env.SELFHEAL_STATE_DIR ?? ".selfheal/state"),
  mergeTimeout: "4h", // a pull request waits this long for its review
  notify:
    process.env.SLACK_WEBHOOK_URL === undefined
      ? []
      : [slackNotifier({ url: process.env.SLACK_WEBHOOK_URL })],
  logger: jsonLogger(),
});

const { url } = await controller.listen({ port: Number(process.env.PORT ?? 9090) });
console.log(`selfheal listening on ${url}/webhook`);
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => void controller.close().then(() => process.exit(0)));
}
