import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDecisionInput, makeIncident, testEnricherContract } from "@selfheal/core/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type GitopsDeploymentSettings, gitopsDeployment, openGitWorkspace } from "../src/index.js";
import { type GitHttpServer, startGitHttpServer } from "../src/testing/index.js";

let server: GitHttpServer;
let scratch: string;
let count = 0;

beforeAll(async () => {
  server = await startGitHttpServer();
  scratch = await mkdtemp(join(tmpdir(), "selfheal-enricher-test-"));
});

afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

const deployment = (tag: string) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: checkout\n          image: r/checkout:${tag}\n`;

async function enricherFor(
  history: string[],
  extra: Record<string, string> = {},
  settings: Omit<GitopsDeploymentSettings, "workspace"> = {},
) {
  const name = `enrich-${++count}`;
  const [first, ...rest] = history;
  const { url } = await server.createRepo(
    name,
    { "apps/checkout.yaml": deployment(first as string), ...extra },
    { commits: rest.map((tag) => ({ message: tag, files: { "apps/checkout.yaml": deployment(tag) } })) },
  );
  return gitopsDeployment({ workspace: openGitWorkspace({ url, dir: join(scratch, name) }), ...settings });
}

const enrich = async (enricher: Awaited<ReturnType<typeof enricherFor>>) =>
  enricher.enrich({
    incident: makeIncident(),
    input: makeDecisionInput(),
    signal: AbortSignal.timeout(20_000),
  });

testEnricherContract("gitops deployment", async () => ({ enricher: await enricherFor(["v1", "v2"]) }));

it("reports the image, the one before it from git history, and the replicas", async () => {
  const found = await enrich(await enricherFor(["v1.0.0", "v1.1.0", "v1.2.0"]));
  expect(found.deployment).toEqual({
    image: "r/checkout:v1.2.0",
    previous_image: "r/checkout:v1.1.0",
    replicas: 3,
  });
  // The policy's scale inputs: no HPA, so spec.replicas is what a scale-up moves; no cap known.
  expect(found.current_replicas).toBe(3);
  expect(found.max_replicas).toBeUndefined();
});

const hpa = (min: number, max: number) =>
  `apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: checkout-hpa\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: checkout\n  minReplicas: ${min}\n  maxReplicas: ${max}\n`;

it("fills current_replicas from the HPA's minReplicas and max_replicas from its maxReplicas", async () => {
  const found = await enrich(await enricherFor(["v1", "v2"], { "apps/checkout-hpa.yaml": hpa(2, 6) }));
  expect(found.current_replicas).toBe(2);
  expect(found.max_replicas).toBe(6);
  expect(found.deployment).toMatchObject({
    replicas: 3,
    hpa: { name: "checkout-hpa", min_replicas: 2, max_replicas: 6 },
  });
});

it("never reports max_replicas above the configured cap", async () => {
  const withHpa = await enricherFor(
    ["v1", "v2"],
    { "apps/checkout-hpa.yaml": hpa(2, 6) },
    { maxReplicas: 4 },
  );
  expect((await enrich(withHpa)).max_replicas).toBe(4);
  const plain = await enricherFor(["v1", "v2"], {}, { maxReplicas: 4 });
  expect((await enrich(plain)).max_replicas).toBe(4);
});

it("reads a Helm values file's replica count when the image target names it", async () => {
  const values = "replicaCount: 5\nimage:\n  tag: v2\n";
  const found = await enrich(
    await enricherFor(
      ["v1", "v2"],
      { "charts/checkout/values.yaml": values },
      {
        image: {
          kind: "helm",
          file: "charts/{service}/values.yaml",
          path: "image.tag",
          replicas: "replicaCount",
        },
        locate: { paths: ["apps/{service}.yaml"] },
      },
    ),
  );
  expect(found.current_replicas).toBe(5);
  expect(found.deployment?.image).toBe("v2");
  expect(found.facts).toMatchObject({ replicas: "replicaCount in charts/checkout/values.yaml" });
});

it("skips quarantined versions and lists them", async () => {
  const quarantine = `versions:\n  - version: r/checkout:v1.1.0\n    tag: v1.1.0\n    until: "2999-01-01T00:00:00.000Z"\n    incident: inc-0\n`;
  const found = await enrich(
    await enricherFor(["v1.0.0", "v1.1.0", "v1.2.0"], { ".selfheal/quarantine/checkout.yaml": quarantine }),
  );
  expect(found.deployment).toMatchObject({
    previous_image: "r/checkout:v1.0.0",
    quarantined: ["r/checkout:v1.1.0"],
  });
});

it("says there is no previous image (null) when history has none", async () => {
  const found = await enrich(await enricherFor(["v1.2.0"]));
  expect(found.deployment?.previous_image).toBeNull();
});
