import { isSeq } from "yaml";
import type { ManifestEdit } from "./manifest-edit.js";
import { ManifestError } from "./manifest-error.js";
import { formatPath, lookup, type PathSegment, parseManifest, stringAt } from "./parse-manifest.js";
import { replaceScalar } from "./replace-scalar.js";

/** Options of {@link setKustomizeImage}: `name` and exactly one of `newTag`, `newName`, `digest`. */
export interface SetKustomizeImageOptions {
  /** The `name` of the `images:` entry, e.g. `ghcr.io/acme/app`. */
  readonly name: string;
  /** The new `newTag`. */
  readonly newTag?: string;
  /** The new `newName`. */
  readonly newName?: string;
  /** The new `digest`, e.g. `sha256:…`. */
  readonly digest?: string;
}

const operation = "setKustomizeImage";
const fields = ["newTag", "newName", "digest"] as const;

/**
 * Sets one field of the kustomization `images:` entry named `name`, changing no other byte
 * of `text`. The field must already be present in the entry: adding a key is not a
 * one-scalar edit, so switching an entry from `newTag` to `digest` is refused.
 */
export function setKustomizeImage(text: string, options: SetKustomizeImageOptions): ManifestEdit {
  const given = fields.filter((field) => options[field] !== undefined);
  const [field, ...extra] = given;
  if (field === undefined || extra.length > 0) {
    throw new ManifestError(
      `pass exactly one of newTag, newName, digest (got ${given.join(", ") || "none"})`,
      {
        operation,
      },
    );
  }
  const value = options[field] ?? "";
  const manifest = parseManifest(text, operation);
  const matches: { documentIndex: number; path: PathSegment[] }[] = [];
  const seen: string[] = [];
  for (const [documentIndex, document] of manifest.documents.entries()) {
    const images = lookup(document.contents, ["images"]);
    if (!images.found) continue;
    if (!isSeq(images.node))
      throw new ManifestError("is not a list", { path: "images", documentIndex, operation });
    for (const index of images.node.items.keys()) {
      const name = stringAt(document.contents, ["images", index, "name"]);
      seen.push(name ?? "(unnamed)");
      if (name === options.name) matches.push({ documentIndex, path: ["images", index] });
    }
  }
  const [only, ...others] = matches;
  if (only === undefined) {
    throw new ManifestError(`no entry named "${options.name}"; found: ${seen.join(", ") || "none"}`, {
      path: "images",
      operation,
    });
  }
  if (others.length > 0) {
    const where = matches.map((match) => `${formatPath(match.path)} (document ${match.documentIndex})`);
    throw new ManifestError(`${matches.length} entries are named "${options.name}": ${where.join(", ")}`, {
      path: "images",
      operation,
    });
  }
  if (!lookup(manifest.documents[only.documentIndex]?.contents, [...only.path, field]).found) {
    throw new ManifestError(
      `the entry for "${options.name}" has no ${field}; adding fields is not supported`,
      {
        path: formatPath([...only.path, field]),
        documentIndex: only.documentIndex,
        operation,
      },
    );
  }
  return replaceScalar(manifest, only.documentIndex, [...only.path, field], value, operation);
}
