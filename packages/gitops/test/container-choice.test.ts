import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Decision, idempotencyKeyFor, type RemediationError } from "@selfheal/core";
import { makeDecisionInput, makeIncident } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GitopsSettings, gitopsDeployment, gitopsRemediator, openGitWorkspace } from "../src/index.js";
import { type GitHttpServer, startGitHttpServer } from "../src/testing/index.js";

// A pod with a sidecar, and a kustomize overlay pinned by digest: the shapes real config repos
// have, on a real git server.

let server: GitHttpServer;
let scratch: string;
let count = 0;
const call = () => AbortSignal.timeout(30_000);

beforeAll(async () => {
  server = await startGitHttpServer();
  scratch = await mkdtemp(join(tmpdir(), "selfheal-container-test-"));
});

afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

const withSidecar = (tag: string, app = "checkout-api", image = "registry.example.com/team/checkout") =>
  [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    "  name: checkout",
    "spec:",
    "  replicas: 2",
    "  template:",
    "    spec:",
    "      containers:",
    `        - name: ${app}`,
    `          image: ${image}:${tag}`,
    "        - name: envoy",
    "          image: docker.io/envoyproxy/envoy:v1.30.1",
    "",
  ].join("\n");

async function repoWith(versions: readonly string[], file: string, render: (version: string) => string) {
  const name = `choice-${++count}`;
  const [first, ...rest] = versions;
  const { url, path } = await server.createRepo(
    name,
    { [file]: render(first as string) },
    { commits: rest.map((version) => ({ message: version, files: { [file]: render(version) } })) },
  );
  return { url, path, workspace: openGitWorkspace({ url, dir: join(scratch, name) }) };
}

const rollback: Decision = { action: "rollback", params: {}, reason: "errors", escalate: false };
const incident = makeIncident({ id: "inc-1", service: "checkout", key: "checkout/HighErrorRate" });

async function plan(settings: GitopsSettings) {
  const idempotencyKey = idempotencyKeyFor(incident.id, "rollback");
  return gitopsRemediator(settings).plan({ incident, decision: rollback, idempotencyKey, signal: call() });
}

describe("container choice", () => {
  it("picks the container whose image repository is named like the service, beside a sidecar", async () => {
    const repo = await repoWith(["v1", "v2"], "apps/checkout.yaml", (tag) => withSidecar(tag));
    const planned = await plan({ workspace: repo.workspace });
    expect(planned.params).toMatchObject({
      from: "registry.example.com/team/checkout:v2",
      to: "registry.example.com/team/checkout:v1",
    });
    expect(planned.summary).toContain("checkout");
    const diff = planned.changes.find((change) => change.target === "apps/checkout.yaml")?.diff ?? "";
    expect(diff.split("\n").filter((line) => /^[-+] /.test(line))).toEqual([
      "-          image: registry.example.com/team/checkout:v2",
      "+          image: registry.example.com/team/checkout:v1",
    ]);
  });

  it("prefers the container named like the service; a configured name may be a template", async () => {
    const repo = await repoWith(["v1", "v2"], "apps/checkout.yaml", (tag) =>
      withSidecar(tag, "checkout", "registry.example.com/team/shop"),
    );
    expect((await plan({ workspace: repo.workspace })).params).toMatchObject({
      to: "registry.example.com/team/shop:v1",
    });
    const templated = await repoWith(["v1", "v2"], "apps/checkout.yaml", (tag) =>
      withSidecar(tag, "checkout-main", "registry.example.com/team/shop"),
    );
    const planned = await plan({
      workspace: templated.workspace,
      image: { kind: "container", container: "{service}-main" },
    });
    expect(planned.params).toMatchObject({ to: "registry.example.com/team/shop:v1" });
  });

  it("names the containers found and what to set when none fits, in the plan's error and the enricher's warning", async () => {
    const repo = await repoWith(["v1", "v2"], "apps/checkout.yaml", (tag) =>
      withSidecar(tag, "api", "registry.example.com/team/shop"),
    );
    const error = (await plan({ workspace: repo.workspace }).catch(
      (thrown: unknown) => thrown,
    )) as RemediationError;
    const expected =
      'has 2 containers (api, envoy); none is named "checkout" and none runs an image named checkout: set image.container';
    expect(error.message).toContain(expected);
    expect(error.escalate).toBe(true);
    const found = await gitopsDeployment({ workspace: repo.workspace }).enrich({
      incident,
      input: makeDecisionInput(),
      signal: call(),
    });
    expect(found.warnings?.join("\n")).toContain(expected);
    // The replicas are still known: a scale-up does not need the container.
    expect(found.current_replicas).toBe(2);
  });

  it("says why an image cannot be read instead of only that it cannot", async () => {
    const repo = await repoWith(["v1", "v2"], "apps/checkout.yaml", (tag) => withSidecar(tag));
    const error = (await plan({
      workspace: repo.workspace,
      image: { kind: "container", container: "web" },
    }).catch((thrown: unknown) => thrown)) as Error;
    expect(error.message).toMatch(
      /cannot read the image of container "web".*: .*no container named "web"; found: checkout-api, envoy/,
    );
  });
});

describe("kustomize images pinned by digest", () => {
  const digest = (digit: string) => `sha256:${digit.repeat(64)}`;
  const kustomization = (reference: string) =>
    [
      "resources:",
      "  - deployment.yaml",
      "images:",
      "  - name: registry.example.com/team/checkout",
      reference.startsWith("sha256:") ? `    digest: ${reference}` : `    newTag: ${reference}`,
      "",
    ].join("\n");
  const target = {
    kind: "kustomize",
    file: "{dir}/kustomization.yaml",
    name: "registry.example.com/team/{service}",
  } as const;

  async function overlayRepo(history: readonly string[]) {
    const name = `digest-${++count}`;
    const { url } = await server.createRepo(
      name,
      {
        "overlays/prod/deployment.yaml": withSidecar("base").replace("checkout-api", "checkout"),
        "overlays/prod/kustomization.yaml": kustomization(history[0] as string),
      },
      {
        commits: history.slice(1).map((reference) => ({
          message: reference,
          files: { "overlays/prod/kustomization.yaml": kustomization(reference) },
        })),
      },
    );
    return openGitWorkspace({ url, dir: join(scratch, name) });
  }

  it("rolls back to the previous digest from history, passing over a tag entry between", async () => {
    const workspace = await overlayRepo([digest("1"), "v0.9.0", digest("2")]);
    const planned = await plan({ workspace, image: target });
    expect(planned.params).toMatchObject({
      file: "overlays/prod/kustomization.yaml",
      from: digest("2"),
      to: digest("1"),
    });
    expect(planned.changes[0]?.diff).toContain(`+    digest: ${digest("1")}`);
  });

  it("never rolls a digest back to a tag: with only a tag before it, it escalates", async () => {
    const workspace = await overlayRepo(["v0.9.0", digest("2")]);
    const error = (await plan({ workspace, image: target }).catch((thrown: unknown) => thrown)) as Error;
    expect(error.message).toMatch(/no earlier version .* passed over v0\.9\.0 \(written differently/);
  });

  it("refuses a digest that is not sha256:<64 hex>, saying so", async () => {
    const workspace = await overlayRepo(["sha256:abc"]);
    const error = (await plan({ workspace, image: target }).catch((thrown: unknown) => thrown)) as Error;
    expect(error.message).toContain('digest "sha256:abc" is not sha256:<64 hex digits>');
  });
});
