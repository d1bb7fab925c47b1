import { runtimeError, type StandIn, type StandInRequest } from "./argocd-stand-in.js";

// An in-memory Argo CD Application the tests drive, serialised the way Argo CD does
// (empty fields omitted, int64 as numbers, RFC 3339 times).

export const oldRevision = "1f3c9a0b7d2e4f6081a2b3c4d5e6f708192a3b4c";
export const ourRevision = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807";

interface ResourceResult {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly status: string;
  readonly message: string;
}

interface OperationState {
  phase: string;
  message?: string;
  startedAt: string;
  finishedAt?: string;
  operation: { sync: { revision: string; prune?: boolean } };
  syncResult?: { revision: string; resources?: ResourceResult[] };
}

export interface AppModel {
  readonly name: string;
  syncStatus: "Synced" | "OutOfSync" | "Unknown";
  revision: string | undefined;
  health: string;
  healthMessage: string | undefined;
  operationState: OperationState | undefined;
  readonly history: { id: number; revision: string; deployedAt: string; deployStartedAt: string }[];
  /** State changes applied one per GET, before answering it (the controller at work). */
  readonly steps: ((app: AppModel) => void)[];
  clock: number;
}

/** The model's own clock: one second further at each event, so times are distinct and ordered. */
function timestamp(app: AppModel): string {
  app.clock += 1000;
  return new Date(app.clock).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** An application synced and healthy at `oldRevision`, deployed by an old successful sync. */
export function appModel(name = "checkout"): AppModel {
  const app: AppModel = {
    name,
    syncStatus: "Synced",
    revision: undefined,
    health: "Healthy",
    healthMessage: undefined,
    operationState: undefined,
    history: [],
    steps: [],
    clock: Date.parse("2026-08-20T10:00:00Z"),
  };
  deploy(app, oldRevision);
  return app;
}

/** A sync to `revision` starts (phase Running): what the controller does on picking it up. */
export function startOperation(app: AppModel, revision: string): void {
  app.operationState = { phase: "Running", startedAt: timestamp(app), operation: { sync: { revision } } };
}

/** A successful sync of `revision`: Synced at it, history appended, operation Succeeded. */
export function deploy(app: AppModel, revision: string, health = "Healthy"): void {
  if (app.operationState?.phase !== "Running") startOperation(app, revision);
  const started = app.operationState?.startedAt ?? timestamp(app);
  const finished = timestamp(app);
  app.operationState = {
    phase: "Succeeded",
    message: "successfully synced (all tasks run)",
    startedAt: started,
    finishedAt: finished,
    operation: { sync: { revision } },
    syncResult: { revision },
  };
  app.syncStatus = "Synced";
  app.revision = revision;
  app.health = health;
  app.history.push({ id: app.history.length, revision, deployedAt: finished, deployStartedAt: started });
}

/** A failed sync of `revision`, with one failing resource. */
export function failOperation(app: AppModel, revision: string, message: string): void {
  if (app.operationState?.phase !== "Running") startOperation(app, revision);
  const state = app.operationState as OperationState;
  app.operationState = {
    ...state,
    phase: "Failed",
    message,
    finishedAt: timestamp(app),
    syncResult: {
      revision,
      resources: [
        {
          kind: "Deployment",
          namespace: "shop",
          name: "checkout",
          status: "SyncFailed",
          message: 'admission webhook "validate.kyverno.svc" denied the request',
        },
      ],
    },
  };
  app.syncStatus = "OutOfSync";
  app.revision = revision;
}

/** The `v1alpha1Application` JSON of the model. */
export function applicationJson(app: AppModel, withOperation?: { revision?: string }): unknown {
  const operation = app.operationState;
  return {
    metadata: { name: app.name, namespace: "argocd", resourceVersion: "123456", generation: 7 },
    spec: {
      project: "default",
      source: {
        repoURL: "https://git.example.com/config.git",
        path: "apps/checkout",
        targetRevision: "main",
      },
      destination: { server: "https://kubernetes.default.svc", namespace: "shop" },
    },
    status: {
      sync: {
        status: app.syncStatus,
        ...(app.revision === undefined ? {} : { revision: app.revision }),
        comparedTo: {
          source: {
            repoURL: "https://git.example.com/config.git",
            path: "apps/checkout",
            targetRevision: "main",
          },
          destination: { server: "https://kubernetes.default.svc", namespace: "shop" },
        },
      },
      health: {
        status: app.health,
        ...(app.healthMessage === undefined ? {} : { message: app.healthMessage }),
      },
      ...(operation === undefined ? {} : { operationState: { ...operation, retryCount: 0 } }),
      ...(app.history.length === 0 ? {} : { history: app.history }),
      reconciledAt: timestamp(app),
      sourceType: "Kustomize",
    },
    ...(withOperation === undefined
      ? {}
      : {
          operation: {
            sync: { ...(withOperation.revision === undefined ? {} : { revision: withOperation.revision }) },
            initiatedBy: { username: "selfheal" },
          },
        }),
  };
}

/** The 404 Argo CD answers (with a project) for an application that does not exist. */
function notFound(name: string) {
  return { status: 404, body: runtimeError(5, `applications.argoproj.io "${name}" not found`) };
}

/** Serve `app` for ApplicationService_Get: one step of the script per GET, then the state. */
export function serveGet(standIn: StandIn, app: AppModel, onGet?: (request: StandInRequest) => void): void {
  standIn.expect("ApplicationService_Get", (request) => {
    if (request.pathParams.name !== app.name) return notFound(request.pathParams.name ?? "");
    onGet?.(request);
    app.steps.shift()?.(app);
    return { status: 200, body: applicationJson(app) };
  });
}

/**
 * Serve ApplicationService_Sync: `decide` may refuse (an answer) or accept (undefined); an
 * accepted sync is answered with the application and its `operation`, as Argo CD does.
 */
export function serveSync(
  standIn: StandIn,
  app: AppModel,
  decide: (request: StandInRequest, attempt: number) => { status: number; body: unknown } | undefined = () =>
    undefined,
): void {
  let attempt = 0;
  standIn.expect("ApplicationService_Sync", (request) => {
    if (request.pathParams.name !== app.name) return notFound(request.pathParams.name ?? "");
    attempt++;
    const refused = decide(request, attempt);
    if (refused !== undefined) return refused;
    const revision = (request.body as { revision?: string }).revision;
    return { status: 200, body: applicationJson(app, revision === undefined ? {} : { revision }) };
  });
}
