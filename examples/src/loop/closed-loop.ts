import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { argocdRefresh, argocdSync } from "@selfheal/adapter-argocd";
import { alertmanagerWebhook } from "@selfheal/adapter-prometheus";
import {
  builtinPolicy,
  type Controller,
  createController,
  type GuardrailSettings,
  type Logger,
  memoryStore,
  type Policy,
  type Store,
  silentLogger,
} from "@selfheal/core";
import { gitopsDeployment, gitopsRemediator, openGitWorkspace } from "@selfheal/gitops";
import { type LocalForge, localForge } from "@selfheal/gitops/testing";
import { releasePipeline } from "./config-release.js";
import { type LoopDeploy, startLoopEnvironment } from "./loop-environment.js";
import { startLoopObservability } from "./loop-observability.js";
import { type DependencyClock, dependencyClock } from "./loop-timeline.js";
import { sampleVersions, type VersionBehaviour } from "./sample-service.js";
import type { SampleServiceProcess } from "./sample-service-process.js";
import { type ClosedIncident, type UntilClosedOptions, untilClosed } from "./until-closed.js";

/** Settings of {@link startClosedLoop}. */
export interface ClosedLoopSettings {
  /**
   * How the rollback lands: a commit on `main`, or a change request (a `localForge`) to merge.
   * @default "direct"
   */
  readonly mode?: "direct" | "change_request";
  /**
   * Behaviour of the sample service by version.
   * @default sampleVersions (v1.1.0 healthy, v1.2.0 30 % 5xx) plus v1.0.0 healthy
   */
  readonly versions?: Readonly<Record<string, VersionBehaviour>>;
  /**
   * The version the config repo holds (and the service runs) before the fault.
   * @default "v1.1.0"
   */
  readonly baseVersion?: string;
  /**
   * The releases `injectFault()` pushes to `main` in one push, oldest first.
   * @default ["v1.2.0"]
   */
  readonly releases?: readonly string[];
  /**
   * The policy.
   * @default builtinPolicy({ restartThreshold: false }): the sample service degrades without crashing
   */
  readonly policy?: Policy;
  /**
   * `prometheus`: real Prometheus and Alertmanager; `direct`: the controller's side scrapes the
   * service itself (see `directMetrics`), for machines without them.
   * @default "prometheus"
   */
  readonly observability?: "prometheus" | "direct";
  /**
   * Rate window of the alert rule, the enricher and the verifier, in seconds.
   * @default 5
   */
  readonly windowS?: number;
  /**
   * How long the error rate must stay below 5 % before the incident is resolved, in seconds.
   * @default 2
   */
  readonly holdS?: number;
  /**
   * The recovery verifier's deadline, in seconds.
   * @default 60
   */
  readonly deadlineS?: number;
  /**
   * Ask the sync agent to refresh right after the change lands (`afterLanding`).
   * @default true
   */
  readonly refreshAfterLanding?: boolean;
  /**
   * How often the sync agent polls git by itself, in milliseconds (Argo CD's default is 3 minutes).
   * @default 180000
   */
  readonly agentPollMs?: number;
  /**
   * The controller's store.
   * @default memoryStore()
   */
  readonly store?: Store;
  /**
   * Requests per second the sample service sends itself.
   * @default 20
   */
  readonly selfLoad?: number;
  /**
   * The controller's logger.
   * @default silentLogger
   */
  readonly logger?: Logger;
  /**
   * The controller's guardrails.
   * @default the controller's defaults (a 5-minute cooldown per service among them)
   */
  readonly guardrails?: GuardrailSettings;
  /**
   * The most replicas a scale-up may write (the enricher's and the remediator's `maxReplicas`).
   * @default 6
   */
  readonly maxReplicas?: number;
  /**
   * CPU demand of the sample service over its replicas before `injectCpuSurge`, in cores.
   * @default 1.2 (0.4 of each of its 3 replicas' 1-core limit)
   */
  readonly cpuDemand?: number;
}

/** A running closed loop. */
export interface ClosedLoop {
  /** The controller, already started; its store holds the audit trail. */
  readonly controller: Controller;
  /** The controller's base URL (its Alertmanager webhook is `${url}/webhook/alertmanager`). */
  readonly controllerUrl: string;
  /** Clone URL of the config repo; its bare repository on disk. */
  readonly repoUrl: string;
  readonly repoPath: string;
  /** The checkout Deployment in the config repo. */
  readonly manifestPath: string;
  /** The sync agent's Argo CD API. */
  readonly argocdUrl: string;
  /** Prometheus's URL; present with `observability: "prometheus"`. */
  readonly prometheusUrl?: string;
  /** Alertmanager's URL; present with `observability: "prometheus"`. */
  readonly alertmanagerUrl?: string;
  /** What found the symptom and checked the recovery. */
  readonly observability: "prometheus" | "direct";
  /** The forge of `mode: "change_request"`. */
  readonly forge?: LocalForge;
  /** The sample service (restarted by every deploy). */
  readonly service: SampleServiceProcess;
  /** Deploys by the sync agent, oldest first. */
  readonly deploys: readonly LoopDeploy[];
  /** How long the controller waited on Prometheus, the policy and the Argo CD refresh. */
  readonly clock: DependencyClock;
  /** Push the releases to `main` and resolve once the last one is live: the fault's time. */
  injectFault(): Promise<Date>;
  /**
   * A traffic surge: the sample service's CPU demand rises to `cores` over its replicas
   * (default 2.85: 95 % of the limit of each of 3 replicas). Resolves when the service runs at
   * it: the fault's time.
   */
  injectCpuSurge(cores?: number): Promise<Date>;
  /**
   * Wait until the first incident (with `alertname`: the first of that alert) closes and the
   * controller has settled; rejects after `timeoutMs` with the incident's last state.
   */
  untilClosed(options?: UntilClosedOptions): Promise<ClosedIncident>;
  /** Stop everything started and remove the temporary folders (the store is the caller's). */
  stop(): Promise<void>;
}

const service = "checkout";
const imageRepository = `registry.example.com/${service}`;

/**
 * Start one closed loop on free ports with temporary folders: a git server with the config
 * repo at `baseVersion`, the sample service running it, the sync agent (Argo CD's API),
 * Prometheus and Alertmanager (or the direct scraper), and the controller wired with the
 * Alertmanager webhook, the Prometheus and git enrichers, `policy`, the GitOps remediator
 * (refreshing the agent after landing) and the Argo CD sync and Prometheus recovery verifiers.
 * Call `injectFault()` to push the bad release.
 */
export async function startClosedLoop(settings: ClosedLoopSettings = {}): Promise<ClosedLoop> {
  const windowS = settings.windowS ?? 5;
  const versions = settings.versions ?? { "v1.0.0": { errorRate: 0 }, ...sampleVersions };
  const baseVersion = settings.baseVersion ?? "v1.1.0";
  const observability = settings.observability ?? "prometheus";
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const work = await mkdtemp(join(tmpdir(), "selfheal-loop-"));
    stops.push(() => rm(work, { recursive: true, force: true }));
    const deploys: LoopDeploy[] = [];
    const environment = await startLoopEnvironment({
      service,
      imageRepository,
      history: [baseVersion],
      versions,
      selfLoad: settings.selfLoad ?? 20,
      cpuDemand: settings.cpuDemand ?? 1.2,
      pollMs: settings.agentPollMs ?? 180_000,
      onDeploy: (deploy) => deploys.push(deploy),
    });
    stops.push(() => environment.stop());
    const { agent, git, manifestPath, service: sample } = environment;
    const pipeline = await releasePipeline({
      repoPath: environment.repoPath,
      manifestPath,
      service,
      imageRepository,
    });
    stops.push(() => pipeline.close());

    // The webhook server listens before Alertmanager starts (Alertmanager needs its URL); the
    // controller's handler is mounted once the controller exists, before any alert can fire.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    stops.push(() => new Promise((resolve) => server.close(resolve)));
    const controllerUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const webhookUrl = `${controllerUrl}/webhook/alertmanager`;

    const watch = await startLoopObservability({
      kind: observability,
      service,
      metricsUrl: sample.metricsUrl,
      webhookUrl,
      windowS,
      holdS: settings.holdS ?? 2,
      deadlineS: settings.deadlineS ?? 60,
    });
    stops.push(() => watch.stop());

    const workspace = openGitWorkspace({ url: environment.repoUrl, dir: join(work, "workspace") });
    const forge =
      settings.mode === "change_request"
        ? localForge({ repoPath: environment.repoPath, webUrl: `${git.url}/config` })
        : undefined;
    const { refresh } = argocdRefresh({ url: agent.url });
    const clock = dependencyClock();
    const maxReplicas = settings.maxReplicas ?? 6;
    const controller = createController({
      sources: [alertmanagerWebhook()],
      enrich: [clock.enricher(watch.enricher), gitopsDeployment({ workspace, maxReplicas })],
      policy: clock.policy(settings.policy ?? builtinPolicy({ restartThreshold: false })),
      remediate: gitopsRemediator({
        workspace,
        maxReplicas,
        ...(forge === undefined ? { mode: "direct" } : { forge, mode: "change_request", mergePollMs: 200 }),
        ...(settings.refreshAfterLanding === false
          ? {}
          : {
              afterLanding: async ({ incident }) => {
                await clock.time("argocd-refresh", () => refresh(incident.service));
              },
            }),
      }),
      verify: [
        argocdSync({ url: agent.url, app: (incident) => incident.service, pollIntervalMs: 200 }),
        watch.recovery,
      ],
      store: settings.store ?? memoryStore(),
      logger: settings.logger ?? silentLogger,
      ...(settings.guardrails === undefined ? {} : { guardrails: settings.guardrails }),
    });
    server.on("request", controller.requestListener);
    await controller.start();
    stops.push(() => controller.close());

    return {
      controller,
      controllerUrl,
      repoUrl: environment.repoUrl,
      repoPath: environment.repoPath,
      manifestPath,
      argocdUrl: agent.url,
      ...(watch.prometheusUrl === undefined ? {} : { prometheusUrl: watch.prometheusUrl }),
      ...(watch.alertmanagerUrl === undefined ? {} : { alertmanagerUrl: watch.alertmanagerUrl }),
      observability,
      ...(forge === undefined ? {} : { forge }),
      service: sample,
      deploys,
      clock,
      async injectFault() {
        const releases = settings.releases ?? ["v1.2.0"];
        const revision = await pipeline.release(releases);
        // The pipeline asks for a refresh, as a CD job would: the fault goes live in about a second.
        await agent.reconcile();
        const until = Date.now() + 30_000;
        for (;;) {
          const live = deploys.find((deploy) => deploy.revision === revision);
          if (live !== undefined) return live.at;
          if (Date.now() > until) throw new Error(`release ${revision} was not deployed within 30 s`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      },
      async injectCpuSurge(cores = 2.85) {
        await sample.setCpuDemand(cores);
        return new Date();
      },
      untilClosed: (options) => untilClosed(controller, forge, options),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
