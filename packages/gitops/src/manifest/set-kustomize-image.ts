import { isScalar, isSeq } from "yaml";
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
  if (field === "digest" && !isDigest(value)) {
    throw new ManifestError(`digest ${JSON.stringify(value)} is not sha256:<64 hex digits>`, { operation });
  }
  const manifest = parseManifest(text, operation);
  const only = findEntry(manifest, options.name, operation);
  // A tag written where a digest pins the image would silently unpin it (and the reverse would
  // not name an image at all): the entry keeps the kind of reference it has.
  if (
    field === "newTag" &&
    lookup(manifest.documents[only.documentIndex]?.contents, [...only.path, "digest"]).found
  ) {
    throw new ManifestError(`the entry for "${options.name}" is pinned by digest; never mix a tag into it`, {
      path: formatPath([...only.path, "newTag"]),
      documentIndex: only.documentIndex,
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

/** `sha256:` and 64 lowercase hex digits: the only digest form a rollback writes. */
export function isDigest(value: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(value);
}

/**
 * The `newTag` and `digest` of the kustomization `images:` entry named `name`. Throws
 * `ManifestError` when the YAML does not parse or the entry is missing or ambiguous.
 */
export function readKustomizeImage(
  text: string,
  name: string,
): { readonly newTag?: string; readonly digest?: string } {
  const manifest = parseManifest(text, "readKustomizeImage");
  const entry = findEntry(manifest, name, "readKustomizeImage");
  const contents = manifest.documents[entry.documentIndex]?.contents;
  const scalar = (key: string): string | undefined => {
    const found = lookup(contents, [...entry.path, key]);
    return found.found && isScalar(found.node) && found.node.value !== null
      ? String(found.node.value)
      : undefined;
  };
  const newTag = scalar("newTag");
  const digest = scalar("digest");
  return { ...(newTag === undefined ? {} : { newTag }), ...(digest === undefined ? {} : { digest }) };
}

function findEntry(
  manifest: ReturnType<typeof parseManifest>,
  name: string,
  operation: string,
): { documentIndex: number; path: PathSegment[] } {
  const matches: { documentIndex: number; path: PathSegment[] }[] = [];
  const seen: string[] = [];
  for (const [documentIndex, document] of manifest.documents.entries()) {
    const images = lookup(document.contents, ["images"]);
    if (!images.found) continue;
    if (!isSeq(images.node))
      throw new ManifestError("is not a list", { path: "images", documentIndex, operation });
    for (const index of images.node.items.keys()) {
      const entryName = stringAt(document.contents, ["images", index, "name"]);
      seen.push(entryName ?? "(unnamed)");
      if (entryName === name) matches.push({ documentIndex, path: ["images", index] });
    }
  }
  const [only, ...others] = matches;
  if (only === undefined) {
    throw new ManifestError(`no entry named "${name}"; found: ${seen.join(", ") || "none"}`, {
      path: "images",
      operation,
    });
  }
  if (others.length > 0) {
    const where = matches.map((match) => `${formatPath(match.path)} (document ${match.documentIndex})`);
    throw new ManifestError(`${matches.length} entries are named "${name}": ${where.join(", ")}`, {
      path: "images",
      operation,
    });
  }
  return only;
}
