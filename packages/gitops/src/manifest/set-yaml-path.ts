import type { ManifestEdit } from "./manifest-edit.js";
import { ManifestError } from "./manifest-error.js";
import { formatPath, lookup, parseDottedPath, parseManifest } from "./parse-manifest.js";
import { replaceScalar } from "./replace-scalar.js";

/** Options of {@link setYamlPath}. */
export interface SetYamlPathOptions {
  /** A dotted path such as `image.tag`, with `[n]` for list items (`sidecars[0].image`). */
  readonly path: string;
  /** The new value. A string that would read as another type is written quoted. */
  readonly value: string | number;
}

const operation = "setYamlPath";

/**
 * Sets the scalar at `path` (typically in a Helm values file), changing no other byte of
 * `text`. A path that does not exist is an error, never a silent addition. In a
 * multi-document file the path must exist in exactly one document.
 */
export function setYamlPath(text: string, options: SetYamlPathOptions): ManifestEdit {
  const path = parseDottedPath(options.path, operation);
  const manifest = parseManifest(text, operation);
  const holders = manifest.documents.flatMap((document, documentIndex) =>
    lookup(document.contents, path).found ? [documentIndex] : [],
  );
  const [only, ...others] = holders;
  if (only === undefined) {
    const first = manifest.documents[0];
    const missing = lookup(first?.contents, path);
    if (first === undefined || missing.found) {
      throw new ManifestError("does not exist: the file holds no document", {
        path: options.path,
        operation,
      });
    }
    throw new ManifestError(missing.reason, {
      path: formatPath(path.slice(0, missing.depth)),
      documentIndex: 0,
      operation,
    });
  }
  if (others.length > 0) {
    throw new ManifestError(`exists in ${holders.length} documents (${holders.join(", ")})`, {
      path: options.path,
      operation,
    });
  }
  return replaceScalar(manifest, only, path, options.value, operation);
}
