import { createHash } from "node:crypto";
import type { Enricher, Incident, Notifier, Remediator } from "@selfheal/core";
import { type GitWorkspace, gitopsDeployment } from "@selfheal/gitops";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import type { ServiceMode, ServiceSettings } from "../config/services-config.js";
import { definedOnly } from "./defined-only.js";
import { changeTargets, type GitopsConfig, wireGitopsRemediator, wireWorkspace } from "./wire-remediate.js";

/** What `services` resolves to for one service and alert. */
export interface ResolvedService {
  /** The mode, or `undefined` when no layer set one (then `remediate.gitops` decides, as before `services`). */
  readonly mode: ServiceMode | undefined;
  /** Notify in observe mode. */
  readonly notify: boolean;
  /** `remediate.gitops` with this service's overrides, when remediation is configured. */
  readonly gitops: GitopsConfig | undefined;
  /** The Argo CD application template, when a layer sets one. */
  readonly argocdApp: string | undefined;
  /** `enrich.prometheus.queries` with this service's overrides merged over. */
  readonly queries: Readonly<Record<string, string | null>>;
  /** `policy.builtin` with this service's overrides merged over (only with the built-in policy). */
  readonly policy: NonNullable<SelfhealConfig["policy"]["builtin"]> | undefined;
}

const rank: Record<ServiceMode, number> = { observe: 0, propose: 1, act: 2 };

/**
 * The settings of `service` for an alert with `labels`: `services.defaults`, then each group whose
 * `match` labels the alert carries, then `services.byName[service]`. An opt-in label can only hold
 * a service below its configured mode, never lift it.
 */
export function resolveService(
  config: SelfhealConfig,
  service: string,
  labels: Readonly<Record<string, string>>,
): ResolvedService {
  const services = config.services;
  const layers: ServiceSettings[] = [
    services.defaults,
    ...services.groups.filter((group) =>
      Object.entries(group.match).every(([key, value]) => labels[key] === value),
    ),
    ...(Object.hasOwn(services.byName, service) ? [services.byName[service] as ServiceSettings] : []),
  ];
  let mode: ServiceMode | undefined;
  let notify = false;
  let gitops = config.remediate.gitops;
  let argocdApp: string | undefined;
  let queries: Record<string, string | null> = { ...(config.enrich.prometheus?.queries ?? {}) };
  let policy = config.policy.builtin;
  for (const layer of layers) {
    mode = layer.mode ?? mode;
    notify = layer.notify ?? notify;
    argocdApp = layer.argocdApp ?? argocdApp;
    if (layer.queries !== undefined) queries = { ...queries, ...layer.queries };
    if (layer.policy !== undefined && policy !== undefined) policy = { ...policy, ...layer.policy };
    if (gitops !== undefined) {
      gitops = {
        ...gitops,
        ...definedOnly({
          repo: layer.repo,
          forge: layer.forge,
          locate: layer.locate,
          image: layer.image,
          maxReplicas: layer.maxReplicas,
        }),
      };
    }
  }
  const optIn = services.optIn;
  if (optIn !== undefined && labels[optIn.label] !== optIn.value) {
    const held = mode ?? "act";
    mode = rank[held] <= rank[optIn.otherwise] ? held : optIn.otherwise;
  }
  if (gitops !== undefined && mode !== undefined && mode !== "observe") {
    gitops = { ...gitops, mode: mode === "propose" ? "change_request" : "direct" };
  }
  return { mode, notify, gitops, argocdApp, queries, policy };
}

/** Whether a config has per-service settings at all (otherwise one remediator serves every service). */
export function hasServiceSettings(config: SelfhealConfig): boolean {
  const services = config.services;
  return (
    Object.keys(services.defaults).length > 0 ||
    services.groups.length > 0 ||
    Object.keys(services.byName).length > 0 ||
    services.optIn !== undefined
  );
}

/** One repository's wiring, shared by every service whose resolved settings are the same. */
interface Wired {
  readonly remediator: Remediator;
  readonly enricher: Enricher | undefined;
}

/**
 * The remediator and the gitops enricher of `services`: each incident is carried out by the
 * remediator of its service's resolved settings (its repository, forge, mode, layout), built
 * once per distinct settings and kept. Several config repositories get a warm clone each.
 */
export function wireServiceRouting(
  config: SelfhealConfig,
  options: {
    readonly baseDir: string;
    readonly workspaceDir?: string;
    readonly mainWorkspace: GitWorkspace;
    readonly afterLanding?: (landed: {
      readonly incident: Incident;
      readonly revision: string;
    }) => Promise<void>;
  },
): { readonly remediator: Remediator; readonly enricher: Enricher | undefined } {
  const main = config.remediate.gitops as GitopsConfig;
  const workspaces = new Map<string, GitWorkspace>([[workspaceKey(main), options.mainWorkspace]]);
  const wired = new Map<string, Wired>();
  const workspaceOf = (gitops: GitopsConfig): GitWorkspace => {
    const key = workspaceKey(gitops);
    const known = workspaces.get(key);
    if (known !== undefined) return known;
    // A second repository must not share the first one's clone folder.
    const slug = createHash("sha256").update(key).digest("hex").slice(0, 12);
    const sameDir = gitops.repo.dir === main.repo.dir;
    const dir =
      options.workspaceDir !== undefined
        ? `${options.workspaceDir}-${slug}`
        : sameDir
          ? `${gitops.repo.dir}-${slug}`
          : undefined;
    const workspace = wireWorkspace(gitops, options.baseDir, dir);
    workspaces.set(key, workspace);
    return workspace;
  };
  const wiredWith = (gitops: GitopsConfig): Wired => {
    const key = JSON.stringify(gitops);
    const known = wired.get(key);
    if (known !== undefined) return known;
    const workspace = workspaceOf(gitops);
    const entry: Wired = {
      remediator: wireGitopsRemediator(gitops, workspace, options.afterLanding),
      enricher: config.enrich.gitopsDeployment
        ? gitopsDeployment(
            definedOnly({ workspace, maxReplicas: gitops.maxReplicas, ...changeTargets(gitops) }),
          )
        : undefined,
    };
    wired.set(key, entry);
    return entry;
  };
  const wiredFor = (incident: Incident): Wired =>
    wiredWith(resolveService(config, incident.service, incident.labels).gitops ?? main);
  // Every entry is a gitops remediator: the main one names the router and its actions.
  const template = wiredWith(main).remediator;
  const remediator: Remediator = {
    name: template.name,
    actions: template.actions,
    ...(template.timeoutMs === undefined ? {} : { timeoutMs: template.timeoutMs }),
    plan: (planOptions) => wiredFor(planOptions.incident).remediator.plan(planOptions),
    apply: (applyOptions) => wiredFor(applyOptions.incident).remediator.apply(applyOptions),
    awaitMerge: async (mergeOptions) => {
      const target = wiredFor(mergeOptions.incident).remediator;
      if (target.awaitMerge === undefined) throw new Error(`${target.name} cannot wait for a merge`);
      return target.awaitMerge(mergeOptions);
    },
  };
  const enricher: Enricher | undefined = config.enrich.gitopsDeployment
    ? {
        name: "gitops",
        timeoutMs: 5000,
        enrich: async (enrichOptions) => {
          const target = wiredFor(enrichOptions.incident).enricher;
          return target === undefined ? {} : target.enrich(enrichOptions);
        },
      }
    : undefined;
  return { remediator, enricher };
}

/** Notifiers that stay silent for services in observe mode, unless the service asks (`notify: true`). */
export function observeAwareNotifiers(config: SelfhealConfig, notifiers: readonly Notifier[]): Notifier[] {
  return notifiers.map((notifier) => ({
    name: notifier.name,
    ...(notifier.kinds === undefined ? {} : { kinds: notifier.kinds }),
    notify: async (notification, callOptions) => {
      const { incident } = notification;
      const resolved = resolveService(config, incident.service, incident.labels);
      if (resolved.mode === "observe" && !resolved.notify) return;
      await notifier.notify(notification, callOptions);
    },
  }));
}

function workspaceKey(gitops: GitopsConfig): string {
  return JSON.stringify([gitops.repo.url, gitops.repo.branch, gitops.repo.dir]);
}
