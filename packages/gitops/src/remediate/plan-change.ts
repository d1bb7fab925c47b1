import {
  type Decision,
  type DecisionInput,
  type Incident,
  type JsonObject,
  RemediationError,
} from "@selfheal/core";
import { createTwoFilesPatch } from "diff";
import type { GitWorkspace } from "../git/git-workspace.js";
import { LocateError } from "../locate/locate-error.js";
import {
  type LocateWorkloadOptions,
  locateWorkload,
  type WorkloadLocation,
} from "../locate/locate-workload.js";
import { fillServicePath } from "../locate/service-path.js";
import { ManifestError } from "../manifest/manifest-error.js";
import { setReplicas } from "../manifest/set-replicas.js";
import { setYamlPath } from "../manifest/set-yaml-path.js";
import { type ImageTarget, type VersionAccess, versionAccess } from "./image-target.js";
import { quarantineFileChange, readQuarantine } from "./quarantine-file.js";
import { replicaSource } from "./replica-source.js";
import { findRollbackTarget } from "./rollback-target.js";
import { resolveScale } from "./scale-change.js";

/** What the remediator needs to know to work out a change; the resolved settings. */
export interface ChangeSettings {
  readonly locate: Omit<LocateWorkloadOptions, "service" | "signal">;
  readonly image: ImageTarget;
  readonly maxReplicas: number | undefined;
  /** Where quarantined versions are written in the repo (a template), or `undefined` for nowhere. */
  readonly quarantineFile: string | undefined;
  readonly quarantineTtlMs: number;
}

/** The settings that locate a workload and read its version, resolved with their defaults. */
export function changeSettings(settings: {
  readonly locate?: Omit<LocateWorkloadOptions, "service" | "signal">;
  readonly image?: ImageTarget;
  readonly maxReplicas?: number;
  readonly quarantine?: { readonly file?: string; readonly ttlMs?: number } | false;
}): ChangeSettings {
  const quarantine = settings.quarantine === false ? undefined : (settings.quarantine ?? {});
  return {
    locate: settings.locate ?? { globs: ["**/*.yaml", "**/*.yml"] },
    image: settings.image ?? { kind: "container" },
    maxReplicas: settings.maxReplicas,
    quarantineFile:
      quarantine === undefined ? undefined : (quarantine.file ?? ".selfheal/quarantine/{service}.yaml"),
    quarantineTtlMs: quarantine?.ttlMs ?? 86_400_000,
  };
}

/** One file as a change writes it, with what it held before. */
export interface FileChange {
  readonly path: string;
  readonly before: string | undefined;
  readonly after: string;
  /** One line for people. */
  readonly description: string;
}

/**
 * The resolved parameters of a change: what a plan records and what `apply` re-applies to
 * whatever head the branch has by then (the same edit, never a re-decision).
 */
export type ChangeParams =
  | { readonly action: "rollback"; readonly file: string; readonly from: string; readonly to: string }
  | {
      readonly action: "scale_up" | "scale_down";
      readonly file: string;
      /** Dotted path of the count: `spec.replicas`, an HPA's `spec.minReplicas`, a Helm value. */
      readonly field: string;
      readonly from: number;
      readonly to: number;
      /** A time-boxed scale-up: revert after this many milliseconds if the symptom is gone. */
      readonly ttlMs?: number;
    };

const adapter = "gitops";

/** Works out the parameters of a change from a decision, on the repo at `head`. Writes nothing. */
export async function resolveChange(options: {
  readonly workspace: GitWorkspace;
  readonly head: string;
  readonly incident: Incident;
  readonly decision: Decision;
  readonly input: DecisionInput | undefined;
  readonly settings: ChangeSettings;
  readonly now: Date;
  readonly signal: AbortSignal;
}): Promise<{ readonly params: ChangeParams; readonly location: WorkloadLocation }> {
  const location = await locate(options);
  return { params: await changeParams(options, location), location };
}

async function changeParams(
  options: Parameters<typeof resolveChange>[0],
  location: WorkloadLocation,
): Promise<ChangeParams> {
  const { workspace, head, incident, decision, settings } = options;
  const fail = (message: string) =>
    new RemediationError(`${incident.service}: ${message}`, {
      adapter,
      incidentId: incident.id,
      escalate: true,
    });
  if (decision.action === "rollback") {
    const access = accessOf(settings.image, incident, location);
    const text = await workspace.readFile(head, access.file);
    if (text === undefined)
      throw fail(`no file ${access.file} at ${head.slice(0, 12)} (${access.description})`);
    const current = access.read(text);
    if (current === undefined) throw fail(`cannot read the ${access.description}: ${access.explain(text)}`);
    const quarantined = await quarantinedVersions(options);
    const explicit = decision.params.image ?? decision.params.version;
    if (explicit !== undefined) {
      if (typeof explicit !== "string" || explicit === "")
        throw fail(`decision params.image must be a non-empty string`);
      if (quarantined.includes(explicit)) throw fail(`the decision's target ${explicit} is quarantined`);
      return { action: "rollback", file: access.file, from: current, to: explicit };
    }
    const found = await findRollbackTarget({ workspace, head, access, current, quarantined });
    if (found.target === undefined) {
      const skipped = found.skipped.map((version) => `${version.version} (${version.reason})`).join(", ");
      throw fail(
        `no earlier version of the ${access.description} in git history${skipped === "" ? "" : `; passed over ${skipped}`}: not guessing a tag`,
      );
    }
    return { action: "rollback", file: access.file, from: current, to: found.target.version };
  }
  if (decision.action === "scale_up" || decision.action === "scale_down") {
    const source = await replicaSource({
      workspace,
      head,
      image: settings.image,
      service: incident.service,
      location,
    });
    return resolveScale({
      action: decision.action,
      params: decision.params,
      source,
      maxReplicas: settings.maxReplicas,
      inputMax: options.input?.max_replicas,
      fail,
    });
  }
  throw fail(`the gitops remediator cannot carry out "${decision.action}"`);
}

/**
 * The file writes that carry out `params` on the repo at `head`. An empty list means the repo
 * already holds the wanted state.
 */
export async function changeFiles(options: {
  readonly workspace: GitWorkspace;
  readonly head: string;
  readonly incident: Incident;
  readonly params: ChangeParams;
  readonly settings: ChangeSettings;
  readonly now: Date;
  readonly signal: AbortSignal;
  /** The workload at `head`, when the caller located it already. */
  readonly location?: WorkloadLocation;
}): Promise<FileChange[]> {
  const { workspace, head, incident, params, settings } = options;
  const before = await workspace.readFile(head, params.file);
  if (before === undefined) {
    throw new RemediationError(`${params.file} is gone at ${head.slice(0, 12)}`, {
      adapter,
      incidentId: incident.id,
      escalate: true,
    });
  }
  const changes: FileChange[] = [];
  try {
    if (params.action === "rollback") {
      const location =
        options.location ?? (await locate({ workspace, head, incident, settings, signal: options.signal }));
      const access = accessOf(settings.image, incident, location);
      const edit = access.write(before, params.to);
      if (edit.changed) {
        changes.push({
          path: params.file,
          before,
          after: edit.text,
          description: `${access.description}: ${params.from} → ${params.to}`,
        });
        if (settings.quarantineFile !== undefined) {
          const file = fillServicePath(settings.quarantineFile, incident.service);
          const existing = await workspace.readFile(head, file);
          const until = new Date(options.now.getTime() + settings.quarantineTtlMs);
          const after = quarantineFileChange(existing, {
            service: incident.service,
            version: params.from,
            until,
            incidentId: incident.id,
            now: options.now,
          });
          if (after !== existing)
            changes.push({
              path: file,
              before: existing,
              after,
              description: `quarantine ${params.from} until ${until.toISOString()}`,
            });
        }
      }
    } else {
      const edit =
        params.field === "spec.replicas"
          ? setReplicas(before, { replicas: params.to })
          : setYamlPath(before, { path: params.field, value: params.to });
      if (edit.changed) {
        changes.push({
          path: params.file,
          before,
          after: edit.text,
          description: `${params.field} ${params.from} → ${params.to} in ${params.file}`,
        });
      }
    }
  } catch (error) {
    if (error instanceof ManifestError) {
      throw new RemediationError(`${params.file}: ${error.message}`, {
        adapter,
        incidentId: incident.id,
        escalate: true,
        cause: error,
      });
    }
    throw error;
  }
  return changes;
}

/** The unified diff of a change, as a plan shows it. */
export function unifiedDiff(change: FileChange): string {
  return createTwoFilesPatch(
    `a/${change.path}`,
    `b/${change.path}`,
    change.before ?? "",
    change.after,
    "",
    "",
    { context: 3 },
  );
}

/** The change parameters as JSON for the plan. */
export function paramsJson(params: ChangeParams): JsonObject {
  return { ...params };
}

/** The {@link versionAccess} of the service, its container choice failing as a remediation error. */
export function accessOf(image: ImageTarget, incident: Incident, location: WorkloadLocation): VersionAccess {
  try {
    return versionAccess(image, incident.service, location);
  } catch (error) {
    if (error instanceof LocateError) {
      throw new RemediationError(`${incident.service}: ${error.message}`, {
        adapter,
        incidentId: incident.id,
        escalate: true,
        cause: error,
      });
    }
    throw error;
  }
}

export async function locate(options: {
  readonly workspace: GitWorkspace;
  readonly head: string;
  readonly incident: Incident;
  readonly settings: ChangeSettings;
  readonly signal: AbortSignal;
}): Promise<WorkloadLocation> {
  try {
    return await locateWorkload(options.workspace.tree(options.head), {
      ...options.settings.locate,
      service: options.incident.service,
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof LocateError) {
      throw new RemediationError(error.message, {
        adapter,
        incidentId: options.incident.id,
        escalate: true,
        cause: error,
      });
    }
    throw error;
  }
}

export async function quarantinedVersions(options: {
  readonly workspace: GitWorkspace;
  readonly head: string;
  readonly incident: Incident;
  readonly input: DecisionInput | undefined;
  readonly settings: ChangeSettings;
  readonly now: Date;
}): Promise<string[]> {
  const versions = new Set(options.input?.deployment?.quarantined ?? []);
  if (options.settings.quarantineFile !== undefined) {
    const file = fillServicePath(options.settings.quarantineFile, options.incident.service);
    const text = await options.workspace.readFile(options.head, file);
    for (const entry of readQuarantine(text, options.now)) versions.add(entry.version);
  }
  return [...versions];
}
