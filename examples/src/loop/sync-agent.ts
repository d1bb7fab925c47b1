import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { BadInputError, describeError, SelfHealError } from "@selfheal/core";
import { Mutex } from "@selfheal/core/internal";
import { type GitAuth, openGitWorkspace, setContainerImage, setReplicas, tagOf } from "@selfheal/gitops";
import { type ApiAnswer, type SyncRequest, serveArgocdApi } from "./argocd-api-server.js";
import {
  type AgentApplicationSpec,
  type AgentApplicationState,
  applicationBody,
  argocdTime,
  type OperationInitiator,
  runtimeErrorBody,
} from "./argocd-application-view.js";
import { pastDeployments } from "./past-deployments.js";

/** What a deploy is told besides the version. */
export interface DeployContext {
  /** The whole image reference from the manifest. */
  readonly image: string;
  /** The commit being deployed. */
  readonly revision: string;
  /** `spec.replicas` at that commit, when the manifest writes it. */
  readonly replicas?: number;
}

/** Settings of {@link startSyncAgent}. */
export interface SyncAgentSettings {
  /** Clone URL of the config repository (smart HTTP). */
  readonly repoUrl: string;
  /**
   * The branch deployed.
   * @default "main"
   */
  readonly branch?: string;
  /**
   * Name of the Argo CD application (and of the Deployment).
   * @default "checkout"
   */
  readonly app?: string;
  /** Path of the Deployment manifest in the repository (`apps/checkout/deployment.yaml`). */
  readonly manifestPath: string;
  /**
   * Container whose image is deployed.
   * @default the only container
   */
  readonly container?: string;
  /**
   * Deploy `version` (the image tag) with `context.replicas`; resolves once it runs. Called when
   * the version or the replica count differs from what runs. A rejection fails the sync.
   */
  readonly deploy: (version: string, context: DeployContext) => Promise<void>;
  /**
   * The version running when the agent starts: when the branch says the same, nothing is
   * deployed and the application starts Synced.
   * @default none (the first look deploys)
   */
  readonly deployed?: string;
  /**
   * The replicas running when the agent starts.
   * @default what the branch says at the first look, when it says the same version as `deployed`
   */
  readonly deployedReplicas?: number;
  /**
   * Time between two looks at the branch, in milliseconds.
   * @default 500
   */
  readonly pollMs?: number;
  /**
   * Port of the Argo CD API; 0 picks a free one.
   * @default 0
   */
  readonly port?: number;
  /**
   * Bearer token every API request must carry (401 otherwise).
   * @default none (no authentication)
   */
  readonly token?: string;
  /** Credentials for the git server. @default none */
  readonly auth?: GitAuth;
  /**
   * Namespace reported as the application's destination.
   * @default "default"
   */
  readonly namespace?: string;
  /**
   * Deployments kept in `status.history`.
   * @default 10
   */
  readonly historyLimit?: number;
}

/** What a revision of the branch asks to run. */
interface Desired {
  readonly revision: string;
  readonly image: string;
  readonly replicas?: number;
}

/** A running sync agent. */
export interface SyncAgent {
  /** Base URL of its Argo CD API, for `argocdClient({ url })`. */
  readonly url: string;
  /** Look at the branch now (what `?refresh=` does); resolves after the comparison. */
  reconcile(): Promise<void>;
  /** Stop polling, wait for a running deploy, close the API, remove the clone. */
  close(): Promise<void>;
}

/**
 * A local stand-in for Argo CD with auto-sync: it deploys whatever the config repository's
 * branch says (calling `deploy` with the image tag and `spec.replicas`) and answers the Application endpoints the
 * `@selfheal/adapter-argocd` client uses. While a deploy runs the application is OutOfSync and
 * Progressing; after it, Synced and Healthy at that commit, with a history entry.
 */
export async function startSyncAgent(settings: SyncAgentSettings): Promise<SyncAgent> {
  const pollMs = settings.pollMs ?? 500;
  if (!(Number.isFinite(pollMs) && pollMs > 0)) {
    throw new BadInputError("sync agent: pollMs must be a positive number", { adapter: "sync-agent" });
  }
  const branch = settings.branch ?? "main";
  const name = settings.app ?? "checkout";
  const historyLimit = settings.historyLimit ?? 10;
  const spec: AgentApplicationSpec = {
    name,
    repoUrl: settings.repoUrl,
    branch,
    path: posix.dirname(settings.manifestPath),
    namespace: settings.namespace ?? "default",
    workload: name,
  };
  const dir = await mkdtemp(join(tmpdir(), "selfheal-sync-agent-"));
  const workspace = openGitWorkspace({
    url: settings.repoUrl,
    dir,
    branch,
    ...(settings.auth === undefined ? {} : { auth: settings.auth }),
  });
  const now = argocdTime();
  const state: AgentApplicationState = {
    syncStatus: "Unknown",
    revision: undefined,
    health: "Missing",
    healthMessage: undefined,
    healthSince: now,
    operationState: undefined,
    history: [],
    reconciledAt: undefined,
    comparisonError: undefined,
    deployedImage: undefined,
  };
  let deployedVersion = settings.deployed;
  let deployedReplicas = settings.deployedReplicas;
  let desired: Desired | undefined;
  let running: Promise<void> | undefined;
  const lock = new Mutex();
  const stopping = new AbortController();

  const setHealth = (health: AgentApplicationState["health"], message?: string) => {
    if (state.health !== health) state.healthSince = argocdTime();
    state.health = health;
    state.healthMessage = message;
  };
  /** Whether `wanted` differs from what runs: another version, or another replica count. */
  const differs = (wanted: Desired) =>
    tagOf(wanted.image) !== deployedVersion ||
    (wanted.replicas !== undefined && wanted.replicas !== deployedReplicas);
  const compare = () => {
    if (desired === undefined) return;
    state.syncStatus = differs(desired) ? "OutOfSync" : "Synced";
  };

  /** Read the image and the replicas the manifest names at `revision`. */
  const desiredAt = async (revision: string): Promise<Desired> => {
    const text = await workspace.readFile(revision, settings.manifestPath);
    const context = { adapter: "sync-agent", operation: "readManifest", url: settings.repoUrl };
    if (text === undefined) {
      throw new SelfHealError(`${settings.manifestPath} does not exist at ${revision}`, context);
    }
    const image = setContainerImage(text, {
      image: "-",
      ...(settings.container === undefined ? {} : { container: settings.container }),
    }).before;
    if (typeof image !== "string" || image === "") {
      throw new SelfHealError(`${settings.manifestPath} names no image at ${revision}`, context);
    }
    // A manifest without spec.replicas leaves the count to whatever scales it (an HPA).
    let replicas: number | undefined;
    try {
      const written = setReplicas(text, { replicas: 0 }).before;
      replicas = typeof written === "number" ? written : undefined;
    } catch {
      replicas = undefined;
    }
    return { revision, image, ...(replicas === undefined ? {} : { replicas }) };
  };

  /** Run one sync operation; the caller holds the lock and checked that none is running. */
  const operate = (wanted: Desired, initiatedBy: OperationInitiator) => {
    const { revision, image, replicas } = wanted;
    const version = tagOf(image);
    const startedAt = argocdTime();
    const operation = { revision, startedAt, initiatedBy };
    const what =
      version === deployedVersion && replicas !== undefined
        ? `scaling to ${replicas} replicas`
        : `deploying ${version === deployedVersion ? image : version}`;
    state.operationState = { ...operation, phase: "Running", message: what };
    const changes = differs(wanted);
    if (changes) setHealth("Progressing", what);
    running = (async () => {
      try {
        if (changes) {
          await settings.deploy(version, {
            image,
            revision,
            ...(replicas === undefined ? {} : { replicas }),
          });
        }
        deployedVersion = version;
        if (replicas !== undefined) deployedReplicas = replicas;
        state.deployedImage = image;
        const finishedAt = argocdTime();
        state.operationState = {
          ...operation,
          phase: "Succeeded",
          message: "successfully synced (all tasks run)",
          finishedAt,
        };
        const id = (state.history.at(-1)?.id ?? -1) + 1;
        state.history.push({ id, revision, deployedAt: finishedAt, deployStartedAt: startedAt, initiatedBy });
        state.history.splice(0, Math.max(0, state.history.length - historyLimit));
        setHealth("Healthy");
      } catch (error) {
        state.operationState = {
          ...operation,
          phase: "Failed",
          message: `deploy of ${version} failed: ${describeError(error)}`,
          finishedAt: argocdTime(),
        };
        setHealth("Degraded", `deploy of ${version} failed`);
      } finally {
        compare();
        running = undefined;
      }
    })();
  };

  /** Fetch the branch and compare; start an automated sync when it differs from what runs. */
  const reconcile = () =>
    lock.run(async () => {
      if (stopping.signal.aborted) return;
      try {
        const head = await workspace.refresh(stopping.signal);
        desired = await desiredAt(head);
        state.revision = head;
        state.comparisonError = undefined;
        if (state.health === "Missing" && tagOf(desired.image) === deployedVersion) {
          // Running before the agent started: report the branch's past as earlier auto-syncs.
          state.history.push(
            ...(await pastDeployments(workspace, settings.manifestPath, head, historyLimit)),
          );
          const last = state.history.at(-1);
          if (last !== undefined) {
            state.operationState = {
              phase: "Succeeded",
              message: "successfully synced (all tasks run)",
              revision: last.revision,
              startedAt: last.deployStartedAt,
              finishedAt: last.deployedAt,
              initiatedBy: last.initiatedBy,
            };
          }
          state.deployedImage = desired.image;
          deployedReplicas ??= desired.replicas;
          setHealth("Healthy");
        }
        compare();
        if (running === undefined && state.syncStatus === "OutOfSync") {
          // A failed revision is not retried by the poll (as Argo CD's auto-sync): only a new
          // commit or a manual sync deploys again.
          const failed = state.operationState?.phase === "Failed" && state.operationState.revision === head;
          if (!failed) operate(desired, { automated: true });
        }
      } catch (error) {
        if (stopping.signal.aborted) return;
        // Keep when the comparison started failing; report the latest reason.
        const since = state.comparisonError?.since ?? argocdTime();
        state.comparisonError = { message: describeError(error), since };
        if (desired === undefined) state.syncStatus = "Unknown";
      } finally {
        state.reconciledAt = argocdTime();
      }
    });

  const sync = (body: SyncRequest) =>
    lock.run(async (): Promise<ApiAnswer> => {
      if (running !== undefined) {
        return { status: 400, body: runtimeErrorBody(9, "another operation is already in progress") };
      }
      const answer = () => ({
        status: 200,
        body: applicationBody(spec, state, {
          ...(body.revision === undefined ? {} : { revision: body.revision }),
          prune: body.prune ?? false,
          dryRun: body.dryRun ?? false,
        }),
      });
      if (body.dryRun === true) return answer();
      const wanted = body.revision === undefined || body.revision === "" ? branch : body.revision;
      let target: Desired;
      try {
        const head = await workspace.refresh(stopping.signal);
        target = await desiredAt(wanted === branch ? head : wanted);
      } catch (error) {
        return {
          status: 400,
          body: runtimeErrorBody(3, `cannot sync to ${wanted}: ${describeError(error)}`),
        };
      }
      const response = answer();
      operate(target, { username: "admin" });
      return response;
    });

  const api = await serveArgocdApi(
    {
      app: name,
      token: settings.token,
      get: async (refresh) => {
        if (refresh) await reconcile();
        return applicationBody(spec, state);
      },
      sync,
    },
    settings.port ?? 0,
  );

  // The first look happens before the agent is handed out, so its state is never "nothing yet".
  await reconcile();
  let timer: NodeJS.Timeout | undefined;
  const poll = () => {
    if (stopping.signal.aborted) return;
    timer = setTimeout(() => {
      reconcile().then(poll, poll);
    }, pollMs);
  };
  poll();

  let closed: Promise<void> | undefined;
  return {
    url: api.url,
    reconcile,
    close() {
      closed ??= (async () => {
        stopping.abort();
        clearTimeout(timer);
        await lock.run(async () => {});
        await running;
        await api.close();
        await rm(dir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
