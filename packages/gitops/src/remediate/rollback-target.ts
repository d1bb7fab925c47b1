import type { GitWorkspace } from "../git/git-workspace.js";
import type { VersionAccess } from "./image-target.js";

/** A version passed over on the way back through history, and why. */
export interface SkippedVersion {
  readonly version: string;
  readonly commit: string;
  readonly reason: string;
}

/** The version to roll back to, and where history says it was deployed. */
export interface RollbackTarget {
  readonly version: string;
  /** The commit that introduced it. */
  readonly commit: string;
}

/**
 * The version deployed before `current`: walks the first-parent history of the file that
 * holds the version, newest first, and returns the first earlier version that differs from
 * `current` and is not quarantined. `undefined` when history has none: never guess a tag.
 */
export async function findRollbackTarget(options: {
  readonly workspace: GitWorkspace;
  readonly head: string;
  readonly access: VersionAccess;
  readonly current: string;
  readonly quarantined: readonly string[];
  /** Most commits walked. @default 500 */
  readonly limit?: number;
}): Promise<{ readonly target?: RollbackTarget; readonly skipped: readonly SkippedVersion[] }> {
  const skipped: SkippedVersion[] = [];
  const quarantined = new Set(options.quarantined);
  const history = options.workspace.fileHistory(options.access.file, {
    from: options.head,
    limit: options.limit ?? 500,
  });
  for await (const { commit, content } of history) {
    const version = options.access.read(content);
    if (version === undefined || version === options.current) continue;
    if (!options.access.compatible(options.current, version)) {
      skipped.push({
        version,
        commit,
        reason: "written differently from the current version (tag or digest)",
      });
      continue;
    }
    if (quarantined.has(version)) {
      skipped.push({ version, commit, reason: "quarantined" });
      continue;
    }
    return { target: { version, commit }, skipped };
  }
  return { skipped };
}
