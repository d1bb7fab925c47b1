import { parse, stringify } from "yaml";
import { z } from "zod";

/**
 * The quarantine as written in the config repo, one file per service, so that people and image
 * updaters see which versions selfheal rolled back from and must not come back before `until`
 * (see the package README for Argo CD Image Updater, Renovate and Flux).
 */
export interface QuarantineEntry {
  /** The version as the repo writes it (an image reference, or a tag). */
  readonly version: string;
  /** The tag part of `version` (after the last `:`), for tools that filter tags. */
  readonly tag: string;
  readonly until: string;
  readonly incident: string;
}

const QuarantineFile = z.object({
  versions: z
    .array(z.object({ version: z.string(), tag: z.string(), until: z.string(), incident: z.string() }))
    .default([]),
});

const header = [
  "# Written by selfheal. Versions of this service rolled back from, not to be deployed again",
  "# before `until`. Image updaters can be pointed at `tag` (see @selfheal/gitops README).",
].join("\n");

/** The unexpired entries of a quarantine file (`undefined` or unreadable: none). */
export function readQuarantine(text: string | undefined, now: Date): QuarantineEntry[] {
  if (text === undefined) return [];
  let parsed: ReturnType<typeof QuarantineFile.safeParse>;
  try {
    parsed = QuarantineFile.safeParse(parse(text));
  } catch {
    return [];
  }
  if (!parsed.success) return [];
  return parsed.data.versions.filter((entry) => Date.parse(entry.until) > now.getTime());
}

/** The file with `version` quarantined until `until` and expired entries dropped. */
export function quarantineFileChange(
  text: string | undefined,
  entry: {
    readonly service: string;
    readonly version: string;
    readonly until: Date;
    readonly incidentId: string;
    readonly now: Date;
  },
): string {
  const kept = readQuarantine(text, entry.now).filter((existing) => existing.version !== entry.version);
  const added: QuarantineEntry = {
    version: entry.version,
    tag: tagOf(entry.version),
    until: entry.until.toISOString(),
    incident: entry.incidentId,
  };
  const versions = [...kept, added].sort((a, b) => a.version.localeCompare(b.version));
  return `${header}\n${stringify({ service: entry.service, versions })}`;
}

/** `registry:5000/app:v1.2` → `v1.2`; a digest reference keeps its digest; a bare tag is itself. */
export function tagOf(version: string): string {
  const at = version.indexOf("@");
  if (at !== -1) return version.slice(at + 1);
  const slash = version.lastIndexOf("/");
  const colon = version.lastIndexOf(":");
  return colon > slash ? version.slice(colon + 1) : version;
}
