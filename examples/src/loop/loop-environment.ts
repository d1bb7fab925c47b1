import { type GitHttpServer, startGitHttpServer } from "@selfheal/gitops/testing";
import type { VersionBehaviour } from "./sample-service.js";
import { type SampleServiceProcess, sampleServiceProcess } from "./sample-service-process.js";
import { type SyncAgent, startSyncAgent } from "./sync-agent.js";

/** Settings of {@link startLoopEnvironment}. */
export interface LoopEnvironmentSettings {
  /**
   * The service (and Argo CD application) name.
   * @default "checkout"
   */
  readonly service?: string;
  /**
   * Requests per second the sample service sends itself.
   * @default 20
   */
  readonly selfLoad?: number;
  /**
   * How often the sync agent looks at the branch, in milliseconds.
   * @default 500
   */
  readonly pollMs?: number;
  /**
   * The image repository written in the manifest.
   * @default "registry.example.com/<service>"
   */
  readonly imageRepository?: string;
  /**
   * The versions the config repository's `main` held, oldest first, one commit each; the
   * service runs the last one.
   * @default ["v1.1.0", "v1.2.0"]
   */
  readonly history?: readonly string[];
  /**
   * Behaviour of the sample service by version.
   * @default sampleVersions (v1.1.0 healthy, v1.2.0 30 % 5xx)
   */
  readonly versions?: Readonly<Record<string, VersionBehaviour>>;
  /**
   * CPU demand of the sample service over all its replicas, in cores, before any surge.
   * @default 1.2 (0.4 of each of the 3 replicas' 1-core limit)
   */
  readonly cpuDemand?: number;
  /**
   * Called after each deploy of the sync agent, once the new version answers.
   * @default none
   */
  readonly onDeploy?: (deploy: LoopDeploy) => void;
}

/** One deploy the sync agent carried out. */
export interface LoopDeploy {
  /** The image tag deployed (`v1.1.0`). */
  readonly version: string;
  /** The config repo commit it came from. */
  readonly revision: string;
  /** The replicas running after it. */
  readonly replicas: number;
  /** When the new process answered: the version is live. */
  readonly at: Date;
}

/** A running closed-loop environment: config repo, sample service, sync agent. */
export interface LoopEnvironment {
  /** The git server holding the config repository. */
  readonly git: GitHttpServer;
  /** Clone URL of the config repository (branch `main`). */
  readonly repoUrl: string;
  /** Path of the bare repository on disk. */
  readonly repoPath: string;
  /** Path of the Deployment manifest in the repository. */
  readonly manifestPath: string;
  /** The Argo CD API of the sync agent, for `argocdSync({ url })`. */
  readonly argocdUrl: string;
  /** Argo CD application and service name. */
  readonly app: string;
  /** The sample service (a child process restarted by each new version, scaled in place). */
  readonly service: SampleServiceProcess;
  readonly agent: SyncAgent;
  /** Stop the agent, the service and the git server (in that order). */
  stop(): Promise<void>;
}

/** Replicas of the Deployment the config repository starts with. */
export const initialReplicas = 3;

/** The Deployment manifest of the config repository at `image`. */
export function deploymentManifest(service: string, image: string, replicas = initialReplicas): string {
  return [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    `  name: ${service}`,
    "  labels:",
    `    app: ${service}`,
    "spec:",
    `  replicas: ${replicas}`,
    "  selector:",
    "    matchLabels:",
    `      app: ${service}`,
    "  template:",
    "    metadata:",
    "      labels:",
    `        app: ${service}`,
    "    spec:",
    "      containers:",
    `        - name: ${service}`,
    `          image: ${image} # set by the release pipeline`,
    "          ports:",
    "            - containerPort: 8080",
    "",
  ].join("\n");
}

/**
 * Start the local closed loop: a git server with a config repository holding `history` (by
 * default v1.1.0, then v1.2.0), the sample service at the last version in a child process, and
 * the sync agent deploying `main`. Prometheus and Alertmanager are started on top by the caller.
 */
export async function startLoopEnvironment(settings: LoopEnvironmentSettings = {}): Promise<LoopEnvironment> {
  const app = settings.service ?? "checkout";
  const imageRepository = settings.imageRepository ?? `registry.example.com/${app}`;
  const manifestPath = `apps/${app}/deployment.yaml`;
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch(() => {});
  };
  try {
    const git = await startGitHttpServer();
    stops.push(() => git.close());
    const [first = "v1.1.0", ...later] = settings.history ?? ["v1.1.0", "v1.2.0"];
    const manifestAt = (version: string) => ({
      [manifestPath]: deploymentManifest(app, `${imageRepository}:${version}`),
    });
    const repo = await git.createRepo("config", manifestAt(first), {
      commits: later.map((version) => ({ message: `Release ${app} ${version}`, files: manifestAt(version) })),
    });
    const running = later.at(-1) ?? first;
    const service = await sampleServiceProcess({
      version: running,
      service: app,
      selfLoad: settings.selfLoad ?? 20,
      replicas: initialReplicas,
      cpuDemand: settings.cpuDemand ?? 1.2,
      ...(settings.versions === undefined ? {} : { versions: settings.versions }),
    });
    stops.push(() => service.stop());
    const agent = await startSyncAgent({
      repoUrl: repo.url,
      app,
      manifestPath,
      deployed: running,
      deployedReplicas: initialReplicas,
      pollMs: settings.pollMs ?? 500,
      // A new version is a restart (new pods); another replica count scales the running pods.
      deploy: async (version, { revision, replicas }) => {
        if (version !== service.version) await service.restart(version);
        if (replicas !== undefined && replicas !== service.replicas) await service.scale(replicas);
        settings.onDeploy?.({ version, revision, replicas: service.replicas, at: new Date() });
      },
    });
    stops.push(() => agent.close());
    return {
      git,
      repoUrl: repo.url,
      repoPath: repo.path,
      manifestPath,
      argocdUrl: agent.url,
      app,
      service,
      agent,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
