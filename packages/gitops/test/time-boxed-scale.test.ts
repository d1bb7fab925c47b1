import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createController, memoryStore, type Signal, silentLogger } from "@selfheal/core";
import { staticPolicy } from "@selfheal/core/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { gitopsRemediator, openGitWorkspace } from "../src/index.js";
import { runGit } from "../src/testing/git-command.js";
import { type GitHttpServer, startGitHttpServer } from "../src/testing/index.js";

let server: GitHttpServer;
let scratch: string;

beforeAll(async () => {
  server = await startGitHttpServer();
  scratch = await mkdtemp(join(tmpdir(), "selfheal-ttl-test-"));
});

afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

const deployment = (replicas: number) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout\nspec:\n  replicas: ${replicas}\n  template:\n    spec:\n      containers:\n        - name: checkout\n          image: r/checkout:v1\n`;

const startsAt = new Date(Date.now() - 60_000).toISOString();
const signal = (status: "firing" | "resolved"): Signal => ({
  source: "test",
  dedupKey: `fp-cpu|${startsAt}|${status}`,
  status,
  alertname: "HighCPU",
  service: "checkout",
  labels: { alertname: "HighCPU", service: "checkout", severity: "warning" },
  annotations: {},
  fingerprint: "fp-cpu",
  startsAt,
  receivedAt: new Date().toISOString(),
});

it("a time-boxed scale-up is reverted by an incident of its own once the time is up and the service is healthy", async () => {
  const { url, path } = await server.createRepo("ttl", { "apps/checkout.yaml": deployment(2) });
  // The controller's clock runs ahead when the test says so: the time box ends without a sleep.
  let aheadMs = 0;
  const controller = createController({
    now: () => new Date(Date.now() + aheadMs),
    store: memoryStore(),
    logger: silentLogger,
    policy: staticPolicy({ action: "scale_up", reason: "CPU at 93%", params: { by: 2, ttl: "300ms" } }),
    remediate: gitopsRemediator({ workspace: openGitWorkspace({ url, dir: join(scratch, "ttl") }) }),
    guardrails: { cooldown: 0 },
    followUpInterval: "1h", // checked by hand below
  });
  try {
    await controller.handle([signal("firing")]);
    await controller.settled();
    const show = () => runGit(["--git-dir", path, "show", "main:apps/checkout.yaml"]);
    expect(await show()).toContain("replicas: 4");
    const scheduled = await controller.store.listEvents({ types: ["followup.scheduled"] });
    expect(scheduled).toHaveLength(1);

    // Not due yet.
    expect(await controller.checkFollowUps()).toBe(0);
    aheadMs = 400; // past the 300 ms time box
    // Due, but the alert still fires: the symptom is not gone, so wait.
    expect(await controller.checkFollowUps()).toBe(0);
    await controller.handle([signal("resolved")]);
    await controller.settled();
    expect(await controller.checkFollowUps()).toBe(1);
    await controller.settled();
    // Exactly once, however often it is checked.
    expect(await controller.checkFollowUps()).toBe(0);

    expect(await show()).toContain("replicas: 2");
    const incidents = await controller.store.listIncidents();
    expect(incidents).toHaveLength(2);
    const revert = incidents.find((incident) => incident.alertname === "SelfhealFollowUp");
    expect(revert).toMatchObject({ state: "resolved", service: "checkout" });
    const trail = await controller.store.listEvents({ incidentId: revert?.id ?? "none" });
    expect(trail.map((event) => event.type)).toContain("remediation.completed");
    expect(trail.find((event) => event.type === "decision.made")?.message).toContain("follow-up of");
  } finally {
    await controller.close({ timeout: 1000 });
  }
});
