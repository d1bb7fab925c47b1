import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDecisionInput, makeIncident, testEnricherContract } from "@selfheal/core/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { gitopsDeployment, openGitWorkspace } from "../src/index.js";
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

async function enricherFor(history: string[], extra: Record<string, string> = {}) {
  const name = `enrich-${++count}`;
  const [first, ...rest] = history;
  const { url } = await server.createRepo(
    name,
    { "apps/checkout.yaml": deployment(first as string), ...extra },
    { commits: rest.map((tag) => ({ message: tag, files: { "apps/checkout.yaml": deployment(tag) } })) },
  );
  return gitopsDeployment({ workspace: openGitWorkspace({ url, dir: join(scratch, name) }) });
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
