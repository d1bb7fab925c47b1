import { isScalar } from "yaml";
import type { WorkloadLocation } from "../locate/locate-workload.js";
import { fillServicePath } from "../locate/service-path.js";
import type { ManifestEdit } from "../manifest/manifest-edit.js";
import { ManifestError } from "../manifest/manifest-error.js";
import { lookup, parseDottedPath, parseManifest } from "../manifest/parse-manifest.js";
import { setContainerImage } from "../manifest/set-container-image.js";
import { isDigest, readKustomizeImage, setKustomizeImage } from "../manifest/set-kustomize-image.js";
import { setYamlPath } from "../manifest/set-yaml-path.js";
import { chooseContainer } from "./choose-container.js";

/**
 * Where a service's deployed version is written, and so what a rollback edits. The "version"
 * is the string at that place: a whole image reference for `container`, the `newTag` for
 * `kustomize`, the value at `path` for `helm`.
 */
export type ImageTarget =
  /**
   * The `image` of a container of the located workload. `container` is its name, a template
   * (`{service}` replaced); unset: the only container, else the one named like the service,
   * else the one whose image repository's last path part is the service.
   */
  | { readonly kind: "container"; readonly container?: string }
  /**
   * The `newTag` of a kustomization's `images:` entry, or its `digest` when the entry is pinned
   * by digest (`sha256:<64 hex>`, validated; a tag is never written into a digest entry).
   * `file` and `name` are templates: `{service}` and `{dir}` (the folder of the located
   * workload) are replaced.
   */
  | { readonly kind: "kustomize"; readonly file: string; readonly name: string }
  /**
   * The scalar at a dotted `path` of a Helm values file (`image.tag`); `file` is a template.
   * `replicas` is the dotted path of the replica count in the same file (`replicaCount`): a
   * scale-up of a workload no HPA owns edits it instead of the rendered `spec.replicas`.
   */
  | {
      readonly kind: "helm";
      readonly file: string;
      readonly path: string;
      readonly replicas?: string;
    };

/** How to read and write the version in one file. */
export interface VersionAccess {
  /** The file holding the version. */
  readonly file: string;
  /** The version written in `text`, or `undefined` when it is not there (or does not parse). */
  read(text: string): string | undefined;
  /** Why {@link read} finds no version in `text`, in words (the parser's or the finder's). */
  explain(text: string): string;
  /**
   * Whether `version` may replace `current`: a version from history written differently (a tag
   * where a digest pins the image now) is passed over, never written.
   */
  compatible(current: string, version: string): boolean;
  /** `text` with the version set to `version`, every other byte kept. Throws `ManifestError`. */
  write(text: string, version: string): ManifestEdit;
  /** In words, for plans: `image of container "api" in apps/checkout/deployment.yaml`. */
  readonly description: string;
}

/**
 * The {@link VersionAccess} of `target` for a located workload.
 * @throws LocateError when the workload has several containers and none or several fit the service.
 */
export function versionAccess(
  target: ImageTarget,
  service: string,
  location: WorkloadLocation,
): VersionAccess {
  const fill = (template: string) => fillTargetPath(template, service, location);
  const workload = { kind: location.kind, name: location.name };
  switch (target.kind) {
    case "container": {
      const container = chooseContainer({ configured: target.container, service, location });
      const options = container === undefined ? { workload } : { workload, container };
      const read = (text: string) => String(setContainerImage(text, { ...options, image: "x" }).before ?? "");
      return {
        file: location.path,
        read: (text) => quietly(() => read(text)),
        explain: (text) => explain(() => read(text)),
        compatible: () => true,
        write: (text, version) => setContainerImage(text, { ...options, image: version }),
        description: `image of ${container === undefined ? "the container" : `container "${container}"`} of ${location.kind} ${location.name} in ${location.path}`,
      };
    }
    case "kustomize": {
      const file = fill(target.file);
      const name = fill(target.name);
      const read = (text: string): string => {
        const entry = readKustomizeImage(text, name);
        if (entry.digest !== undefined) {
          if (!isDigest(entry.digest))
            throw new ManifestError(`digest ${JSON.stringify(entry.digest)} is not sha256:<64 hex digits>`, {
              operation: "readKustomizeImage",
            });
          return entry.digest;
        }
        return entry.newTag ?? "";
      };
      return {
        file,
        read: (text) => quietly(() => read(text)),
        explain: (text) => explain(() => read(text)),
        compatible: (current, version) => isDigest(current) === isDigest(version),
        write: (text, version) =>
          setKustomizeImage(text, isDigest(version) ? { name, digest: version } : { name, newTag: version }),
        description: `newTag or digest of image ${name} in ${file}`,
      };
    }
    case "helm": {
      const file = fill(target.file);
      return {
        file,
        read: (text) => quietly(() => readScalar(text, target.path)),
        explain: (text) => explain(() => readScalar(text, target.path)),
        compatible: () => true,
        write: (text, version) => setYamlPath(text, { path: target.path, value: version }),
        description: `${target.path} in ${file}`,
      };
    }
  }
}

/**
 * A file template of a target: `{service}` and `{dir}` (the folder of the located workload)
 * replaced, leading slashes dropped.
 */
export function fillTargetPath(template: string, service: string, location: WorkloadLocation): string {
  const dir = location.path.split("/").slice(0, -1).join("/");
  return fillServicePath(template, service).replaceAll("{dir}", dir).replace(/^\/+/, "");
}

function readScalar(text: string, dotted: string): string | undefined {
  const path = parseDottedPath(dotted, "readValue");
  for (const document of parseManifest(text, "readValue").documents) {
    const found = lookup(document.contents, path);
    if (found.found)
      return isScalar(found.node) && found.node.value !== null ? String(found.node.value) : undefined;
  }
  return undefined;
}

function explain(read: () => string | undefined): string {
  try {
    const value = read();
    return value === undefined || value === "" ? "no value there" : "readable";
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

function quietly(read: () => string | undefined): string | undefined {
  try {
    const value = read();
    return value === "" ? undefined : value;
  } catch {
    return undefined;
  }
}
