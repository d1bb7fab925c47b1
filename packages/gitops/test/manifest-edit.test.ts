import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { type Document, parseAllDocuments } from "yaml";
import {
  type ManifestEdit,
  ManifestError,
  setContainerImage,
  setKustomizeImage,
  setReplicas,
  setYamlPath,
} from "../src/index.js";

const fixture = (name: string): string =>
  readFileSync(new URL(`./fixtures/manifests/${name}`, import.meta.url), "utf8");

type Segment = string | number;

interface EditCase {
  readonly title: string;
  readonly fixture: string;
  readonly edit: (text: string) => ManifestEdit;
  readonly documentIndex: number;
  readonly path: readonly Segment[];
  /** Source text of the scalar before and after, quotes included. */
  readonly from: string;
  readonly to: string;
  readonly value: string | number;
}

const containers = (index: number): Segment[] => ["spec", "template", "spec", "containers", index, "image"];

const cases: EditCase[] = [
  {
    title: "kustomize newTag (double-quoted, comment on the entry)",
    fixture: "kustomization.yaml",
    edit: (text) => setKustomizeImage(text, { name: "ghcr.io/acme/api", newTag: "1.4.3" }),
    documentIndex: 0,
    path: ["images", 0, "newTag"],
    from: '"1.4.2"',
    to: '"1.4.3"',
    value: "1.4.3",
  },
  {
    title: "kustomize digest",
    fixture: "kustomization.yaml",
    edit: (text) =>
      setKustomizeImage(text, { name: "ghcr.io/acme/worker", digest: `sha256:${"2".repeat(64)}` }),
    documentIndex: 0,
    path: ["images", 1, "digest"],
    from: `sha256:${"1".repeat(64)}`,
    to: `sha256:${"2".repeat(64)}`,
    value: `sha256:${"2".repeat(64)}`,
  },
  {
    title: "kustomize newName",
    fixture: "kustomization.yaml",
    edit: (text) => setKustomizeImage(text, { name: "nginx", newName: "mirror.local/nginx" }),
    documentIndex: 0,
    path: ["images", 2, "newName"],
    from: "registry.local/nginx",
    to: "mirror.local/nginx",
    value: "mirror.local/nginx",
  },
  {
    title: "Helm nested image.tag, quoted, under a comment",
    fixture: "helm-values.yaml",
    edit: (text) => setYamlPath(text, { path: "image.tag", value: "1.5" }),
    documentIndex: 0,
    path: ["image", "tag"],
    from: '"1.4.2"',
    to: '"1.5"',
    value: "1.5",
  },
  {
    title: "Helm plain tag with a comment on the edited line",
    fixture: "helm-values.yaml",
    edit: (text) => setYamlPath(text, { path: "sidecar.image.tag", value: "v1.32.1" }),
    documentIndex: 0,
    path: ["sidecar", "image", "tag"],
    from: "v1.31.0",
    to: "v1.32.1",
    value: "v1.32.1",
  },
  {
    title: "Helm plain string that would read as a number is quoted",
    fixture: "helm-values.yaml",
    edit: (text) => setYamlPath(text, { path: "sidecar.image.tag", value: "2.0" }),
    documentIndex: 0,
    path: ["sidecar", "image", "tag"],
    from: "v1.31.0",
    to: '"2.0"',
    value: "2.0",
  },
  {
    title: "Helm plain string with a comment marker is quoted",
    fixture: "helm-values.yaml",
    edit: (text) => setYamlPath(text, { path: "sidecar.image.tag", value: "v2 #canary" }),
    documentIndex: 0,
    path: ["sidecar", "image", "tag"],
    from: "v1.31.0",
    to: '"v2 #canary"',
    value: "v2 #canary",
  },
  {
    title: "flow-style plain image that needs quoting there",
    fixture: "flow-style.yaml",
    edit: (text) => setContainerImage(text, { container: "helper", image: "busybox:1.37,x" }),
    documentIndex: 0,
    path: containers(1),
    from: "busybox:1.36",
    to: '"busybox:1.37,x"',
    value: "busybox:1.37,x",
  },
  {
    title: "Helm number",
    fixture: "helm-values.yaml",
    edit: (text) => setYamlPath(text, { path: "replicaCount", value: 3 }),
    documentIndex: 0,
    path: ["replicaCount"],
    from: "2",
    to: "3",
    value: 3,
  },
  {
    title: "multi-document file: the only workload's image",
    fixture: "multi-doc.yaml",
    edit: (text) => setContainerImage(text, { image: "ghcr.io/acme/api:1.4.3" }),
    documentIndex: 1,
    path: containers(0),
    from: "ghcr.io/acme/api:1.4.2",
    to: "ghcr.io/acme/api:1.4.3",
    value: "ghcr.io/acme/api:1.4.3",
  },
  {
    title: "multi-document file: replicas of the named Deployment",
    fixture: "multi-doc.yaml",
    edit: (text) => setReplicas(text, { replicas: 4, workload: { kind: "Deployment", name: "api" } }),
    documentIndex: 1,
    path: ["spec", "replicas"],
    from: "3",
    to: "4",
    value: 4,
  },
  {
    title: "CRLF image with a comment on the line",
    fixture: "crlf.yaml",
    edit: (text) => setContainerImage(text, { image: "nginx:1.26" }),
    documentIndex: 0,
    path: containers(0),
    from: "nginx:1.25",
    to: "nginx:1.26",
    value: "nginx:1.26",
  },
  {
    title: "CRLF replicas",
    fixture: "crlf.yaml",
    edit: (text) => setReplicas(text, { replicas: 10 }),
    documentIndex: 0,
    path: ["spec", "replicas"],
    from: "1",
    to: "10",
    value: 10,
  },
  {
    title: "flow-style container, double-quoted image (DaemonSet)",
    fixture: "flow-style.yaml",
    edit: (text) => setContainerImage(text, { container: "app", image: "x:2" }),
    documentIndex: 0,
    path: containers(0),
    from: '"x:1"',
    to: '"x:2"',
    value: "x:2",
  },
  {
    title: "flow-style container, plain image",
    fixture: "flow-style.yaml",
    edit: (text) => setContainerImage(text, { container: "helper", image: "busybox:1.37" }),
    documentIndex: 0,
    path: containers(1),
    from: "busybox:1.36",
    to: "busybox:1.37",
    value: "busybox:1.37",
  },
  {
    title: "single-quoted image keeps single quotes",
    fixture: "quoted-single.yaml",
    edit: (text) => setContainerImage(text, { image: "nginx:1.27" }),
    documentIndex: 0,
    path: containers(0),
    from: "'nginx:1.25'",
    to: "'nginx:1.27'",
    value: "nginx:1.27",
  },
  {
    title: "double-quoted image keeps double quotes",
    fixture: "quoted-double.yaml",
    edit: (text) => setContainerImage(text, { image: "nginx:1.27" }),
    documentIndex: 0,
    path: containers(0),
    from: '"nginx:1.25"',
    to: '"nginx:1.27"',
    value: "nginx:1.27",
  },
  {
    title: "anchored image that no alias uses; aliases elsewhere untouched",
    fixture: "anchors.yaml",
    edit: (text) => setContainerImage(text, { container: "other", image: "ghcr.io/acme/other:1.1.0" }),
    documentIndex: 0,
    path: containers(1),
    from: "ghcr.io/acme/other:1.0.0",
    to: "ghcr.io/acme/other:1.1.0",
    value: "ghcr.io/acme/other:1.1.0",
  },
  {
    title: "anchors file replicas",
    fixture: "anchors.yaml",
    edit: (text) => setReplicas(text, { replicas: 3 }),
    documentIndex: 0,
    path: ["spec", "replicas"],
    from: "2",
    to: "3",
    value: 3,
  },
  {
    title: "second of two containers",
    fixture: "two-containers.yaml",
    edit: (text) => setContainerImage(text, { container: "proxy", image: "envoyproxy/envoy:v1.32.0" }),
    documentIndex: 0,
    path: containers(1),
    from: "envoyproxy/envoy:v1.31.0",
    to: "envoyproxy/envoy:v1.32.0",
    value: "envoyproxy/envoy:v1.32.0",
  },
  {
    title: "first of two containers, comment on the line",
    fixture: "two-containers.yaml",
    edit: (text) => setContainerImage(text, { container: "app", image: "ghcr.io/acme/app:1.0.1" }),
    documentIndex: 0,
    path: containers(0),
    from: "ghcr.io/acme/app:1.0.0",
    to: "ghcr.io/acme/app:1.0.1",
    value: "ghcr.io/acme/app:1.0.1",
  },
  {
    title: "init container by name",
    fixture: "two-containers.yaml",
    edit: (text) => setContainerImage(text, { container: "migrate", image: "ghcr.io/acme/migrate:1.1.0" }),
    documentIndex: 0,
    path: ["spec", "template", "spec", "initContainers", 0, "image"],
    from: "ghcr.io/acme/migrate:1.0.0",
    to: "ghcr.io/acme/migrate:1.1.0",
    value: "ghcr.io/acme/migrate:1.1.0",
  },
  {
    title: "StatefulSet image",
    fixture: "statefulset.yaml",
    edit: (text) => setContainerImage(text, { image: "postgres:16.5", workload: { kind: "StatefulSet" } }),
    documentIndex: 0,
    path: containers(0),
    from: "postgres:16.4",
    to: "postgres:16.5",
    value: "postgres:16.5",
  },
  {
    title: "Argo Rollout image",
    fixture: "rollout.yaml",
    edit: (text) => setContainerImage(text, { image: "ghcr.io/acme/checkout:3.2.0" }),
    documentIndex: 0,
    path: containers(0),
    from: "ghcr.io/acme/checkout:3.1.0",
    to: "ghcr.io/acme/checkout:3.2.0",
    value: "ghcr.io/acme/checkout:3.2.0",
  },
  {
    title: "Argo Rollout replicas",
    fixture: "rollout.yaml",
    edit: (text) => setReplicas(text, { replicas: 6 }),
    documentIndex: 0,
    path: ["spec", "replicas"],
    from: "5",
    to: "6",
    value: 6,
  },
  {
    title: "trailing whitespace and no final newline",
    fixture: "trailing-whitespace.yaml",
    edit: (text) => setContainerImage(text, { image: "ghcr.io/acme/app:1.0.1" }),
    documentIndex: 0,
    path: containers(0),
    from: "ghcr.io/acme/app:1.0.0",
    to: "ghcr.io/acme/app:1.0.1",
    value: "ghcr.io/acme/app:1.0.1",
  },
  {
    title: "trailing whitespace replicas",
    fixture: "trailing-whitespace.yaml",
    edit: (text) => setReplicas(text, { replicas: 2 }),
    documentIndex: 0,
    path: ["spec", "replicas"],
    from: "1",
    to: "2",
    value: 2,
  },
  {
    title: "two Deployments, one picked by name",
    fixture: "two-deployments.yaml",
    edit: (text) => setContainerImage(text, { image: "ghcr.io/acme/app:1.2.0", workload: { name: "green" } }),
    documentIndex: 1,
    path: containers(0),
    from: "ghcr.io/acme/app:1.1.0",
    to: "ghcr.io/acme/app:1.2.0",
    value: "ghcr.io/acme/app:1.2.0",
  },
];

function documentsOf(text: string): Document.Parsed[] {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) throw new Error("no documents");
  for (const document of documents) expect(document.errors).toEqual([]);
  return documents;
}

describe("manifest edits preserve every byte outside the edited scalar", () => {
  it("has a corpus of at least 10 fixtures", () => {
    expect(new Set(cases.map((each) => each.fixture)).size).toBeGreaterThanOrEqual(10);
  });

  for (const each of cases) {
    it(each.title, () => {
      const before = fixture(each.fixture);
      const beforeDocuments = documentsOf(before);
      const node: unknown = beforeDocuments[each.documentIndex]?.getIn(each.path, true);
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (range === undefined) throw new Error(`fixture has no node at ${each.path.join(".")}`);
      const [start, end] = range;
      expect(before.slice(start, end)).toBe(each.from);

      const edit = each.edit(before);
      expect(edit.changed).toBe(true);
      expect(edit.after).toBe(each.value);
      expect(edit.documentIndex).toBe(each.documentIndex);
      expect(edit.path).toBe(
        each.path
          .map((segment) => (typeof segment === "number" ? `[${segment}]` : `.${segment}`))
          .join("")
          .slice(1),
      );
      // Exactly the scalar's source range is replaced, nothing else.
      expect(edit.text).toBe(before.slice(0, start) + each.to + before.slice(end));

      // Re-parses; the path holds the new value; every other value is as before.
      const afterDocuments = documentsOf(edit.text);
      expect(afterDocuments[each.documentIndex]?.getIn(each.path)).toBe(each.value);
      expect(afterDocuments.length).toBe(beforeDocuments.length);
      const probe = beforeDocuments.map((document) => document.clone());
      probe[each.documentIndex]?.setIn(each.path, each.value);
      for (const [index, document] of afterDocuments.entries()) {
        expect(isDeepStrictEqual(document.toJS(), probe[index]?.toJS())).toBe(true);
      }

      if (before.includes("\r\n")) expect(edit.text.replaceAll("\r\n", "").includes("\n")).toBe(false);

      const again = each.edit(edit.text);
      expect(again.changed).toBe(false);
      expect(again.text).toBe(edit.text);
      expect(again.before).toBe(each.value);
    });
  }
});

function expectManifestError(run: () => unknown, pattern: RegExp): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ManifestError);
  expect(ManifestError.isInstance(thrown)).toBe(true);
  expect((thrown as ManifestError).message).toMatch(pattern);
}

describe("manifest edit errors", () => {
  it("reports unparseable YAML with line and column", () => {
    expectManifestError(
      () => setYamlPath("image:\n  tag: [1.0\nother: x\n", { path: "image.tag", value: "2" }),
      /document 0: YAML does not parse at line \d+, column \d+/,
    );
  });

  it("refuses to guess between two matching Deployments", () => {
    expectManifestError(
      () => setContainerImage(fixture("two-deployments.yaml"), { image: "x:1" }),
      /2 workloads match .*Deployment\/blue \(document 0\), Deployment\/green \(document 1\)/,
    );
  });

  it("names the containers when the wanted one is missing", () => {
    expectManifestError(
      () => setContainerImage(fixture("two-containers.yaml"), { container: "nope", image: "x:1" }),
      /spec\.template\.spec\.containers in document 0: no container named "nope"; found: app, proxy, migrate/,
    );
  });

  it("needs a container name when there are several", () => {
    expectManifestError(
      () => setContainerImage(fixture("two-containers.yaml"), { image: "x:1" }),
      /2 containers \(app, proxy\)/,
    );
  });

  it("never adds a missing Helm path", () => {
    expectManifestError(
      () => setYamlPath(fixture("helm-values.yaml"), { path: "image.digest", value: "sha256:0" }),
      /image\.digest in document 0: does not exist/,
    );
    expectManifestError(
      () => setYamlPath(fixture("helm-values.yaml"), { path: "resources.limits.cpu", value: "1" }),
      /resources\.limits in document 0: does not exist/,
    );
  });

  it("reports a kustomize image that is not listed", () => {
    expectManifestError(
      () => setKustomizeImage(fixture("kustomization.yaml"), { name: "redis", newTag: "7" }),
      /images: no entry named "redis"; found: ghcr\.io\/acme\/api, ghcr\.io\/acme\/worker, nginx/,
    );
  });

  it("does not add a kustomize field that is absent", () => {
    expectManifestError(
      () =>
        setKustomizeImage(fixture("kustomization.yaml"), {
          name: "ghcr.io/acme/api",
          digest: `sha256:${"a".repeat(64)}`,
        }),
      /images\[0\]\.digest in document 0: the entry for "ghcr\.io\/acme\/api" has no digest/,
    );
  });

  it("writes only well-formed digests, and never a tag into an entry pinned by digest", () => {
    expectManifestError(
      () =>
        setKustomizeImage(fixture("kustomization.yaml"), { name: "ghcr.io/acme/worker", digest: "sha256:0" }),
      /digest "sha256:0" is not sha256:<64 hex digits>/,
    );
    expectManifestError(
      () => setKustomizeImage(fixture("kustomization.yaml"), { name: "ghcr.io/acme/worker", newTag: "v2" }),
      /images\[1\]\.newTag.*pinned by digest; never mix a tag into it/,
    );
  });

  it("refuses to edit an anchored scalar that an alias reads", () => {
    expectManifestError(
      () => setContainerImage(fixture("anchors.yaml"), { container: "app", image: "x:1" }),
      /containers\[0\]\.image in document 0: is anchored as &appImage/,
    );
  });

  it("reports a workload without spec.replicas or a file with no workload", () => {
    expectManifestError(
      () => setReplicas(fixture("flow-style.yaml"), { replicas: 2 }),
      /no Deployment\/StatefulSet\/Rollout found/,
    );
    expectManifestError(
      () => setContainerImage(fixture("helm-values.yaml"), { image: "x:1" }),
      /the file holds no workload/,
    );
  });
});
