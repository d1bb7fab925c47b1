import { type Enricher, type Enrichment, type Incident, RemediationError } from "@selfheal/core";
import type { GitWorkspace } from "../git/git-workspace.js";
import type { LocateWorkloadOptions, WorkloadLocation } from "../locate/locate-workload.js";
import type { ImageTarget, VersionAccess } from "./image-target.js";
import { accessOf, type ChangeSettings, changeSettings, locate, quarantinedVersions } from "./plan-change.js";
import { replicaSource } from "./replica-source.js";
import { findRollbackTarget } from "./rollback-target.js";

/** Settings of {@link gitopsDeployment}: the same as the remediator's, so both see one workload. */
export interface GitopsDeploymentSettings {
  readonly workspace: GitWorkspace;
  readonly locate?: Omit<LocateWorkloadOptions, "service" | "signal">;
  readonly image?: ImageTarget;
  /**
   * The configured replica cap (the remediator's `maxReplicas`): `max_replicas` is never
   * reported above it.
   */
  readonly maxReplicas?: number;
  /** The remediator's quarantine settings; only `file` is read here (`ttlMs` is for writing). */
  readonly quarantine?: { readonly file?: string; readonly ttlMs?: number } | false;
  /** @default 5000 */
  readonly timeoutMs?: number;
  /** Clock, for tests. */
  readonly now?: () => Date;
}

/**
 * Enricher: the deployment as the config repo states it — the image now, the image before it
 * (from git history, skipping quarantined versions; `null` when history has none), the
 * replicas, the HPA and the quarantined versions — so the policy decides on facts instead of
 * guessing. It fills the policy's scale inputs: `current_replicas` is the count a scale-up
 * moves (the HPA's `minReplicas` when an HPA owns the replicas, a Helm `replicas` value, else
 * `spec.replicas`) and `max_replicas` the lowest of the HPA's `maxReplicas` and `maxReplicas`.
 */
export function gitopsDeployment(settings: GitopsDeploymentSettings): Enricher {
  const change = changeSettings({
    ...(settings.locate === undefined ? {} : { locate: settings.locate }),
    ...(settings.image === undefined ? {} : { image: settings.image }),
    ...(settings.quarantine === undefined ? {} : { quarantine: settings.quarantine }),
    ...(settings.maxReplicas === undefined ? {} : { maxReplicas: settings.maxReplicas }),
  });
  const now = settings.now ?? (() => new Date());
  return {
    name: "gitops",
    timeoutMs: settings.timeoutMs ?? 5000,
    async enrich({ incident, input, signal }): Promise<Enrichment> {
      const workspace = settings.workspace;
      const head = await workspace.refresh(signal);
      let location: Awaited<ReturnType<typeof locate>>;
      try {
        location = await locate({ workspace, head, incident, settings: change, signal });
      } catch (error) {
        if (error instanceof RemediationError) return { warnings: [error.message] };
        throw error;
      }
      const quarantined = await quarantinedVersions({
        workspace,
        head,
        incident,
        input,
        settings: change,
        now: now(),
      });
      const warnings: string[] = [];
      // The image and the scale inputs are found independently: a pod whose container cannot be
      // chosen still has replicas a scale-up can move.
      const versions = await readVersions({ workspace, head, incident, location, change, quarantined });
      if (versions.warning !== undefined) warnings.push(versions.warning);
      const { current, previous } = versions;
      const source = await replicaSource({
        workspace,
        head,
        image: change.image,
        service: incident.service,
        location,
      });
      if (source.value === undefined) warnings.push(`${source.field} is not written in ${source.file}`);
      const replicas = location.replicas ?? (source.hpa === undefined ? source.value : undefined);
      const hpa = source.hpa;
      const caps = [hpa?.maxReplicas, settings.maxReplicas].filter((cap) => cap !== undefined);
      return {
        deployment: {
          ...(current === undefined ? {} : { image: current }),
          ...(previous === undefined ? {} : { previous_image: previous }),
          ...(replicas === undefined ? {} : { replicas }),
          ...(hpa === undefined
            ? {}
            : {
                hpa: { name: hpa.name, min_replicas: hpa.minReplicas ?? 1, max_replicas: hpa.maxReplicas },
              }),
          ...(quarantined.length === 0 ? {} : { quarantined }),
        },
        ...(source.value === undefined ? {} : { current_replicas: source.value }),
        ...(caps.length === 0 ? {} : { max_replicas: Math.min(...caps) }),
        facts: {
          revision: head,
          ...(versions.file === undefined ? {} : { file: versions.file }),
          replicas: `${source.field} in ${source.file}`,
          ...(hpa === undefined ? {} : { hpa: hpa.path }),
        },
        warnings,
      };
    },
  };
}

/** The image now and the one before it, or why they cannot be read. */
async function readVersions(options: {
  readonly workspace: GitWorkspace;
  readonly head: string;
  readonly incident: Incident;
  readonly location: WorkloadLocation;
  readonly change: ChangeSettings;
  readonly quarantined: readonly string[];
}): Promise<{ current?: string; previous?: string | null; file?: string; warning?: string }> {
  const { workspace, head, quarantined } = options;
  let access: VersionAccess;
  try {
    access = accessOf(options.change.image, options.incident, options.location);
  } catch (error) {
    if (error instanceof RemediationError) return { warning: error.message };
    throw error;
  }
  const text = await workspace.readFile(head, access.file);
  const current = text === undefined ? undefined : access.read(text);
  if (current === undefined) {
    const why = text === undefined ? `no file ${access.file}` : access.explain(text);
    return { file: access.file, warning: `cannot read the ${access.description}: ${why}` };
  }
  const found = await findRollbackTarget({ workspace, head, access, current, quarantined });
  return { file: access.file, current, previous: found.target?.version ?? null };
}
