// `guardrails.killSwitch: true` in selfheal.yaml, through the CLI's parsing and wiring, stops every
// action of the controller it builds: the delivery is recorded and decided, nothing is applied.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firingPayload } from "@selfheal/adapter-prometheus";
import { createController, memoryStore, silentLogger } from "@selfheal/core";
import { recordingRemediator, staticPolicy } from "@selfheal/core/testing";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseConfig, wireController } from "../src/index.js";

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "selfheal-cli-kill-"));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** A controller wired from a config with this `killSwitch`, with a recording remediator; one delivery through its webhook. */
async function deliverOnce(killSwitch: boolean) {
  const config = parseConfig(
    [
      "sources:",
      "  alertmanager: {}",
      "policy:",
      "  builtin: {}",
      "guardrails:",
      `  killSwitch: ${killSwitch}`,
      "  cooldown: 0s",
      "",
    ].join("\n"),
    "selfheal.yaml",
  );
  const wired = await wireController(config, { baseDir: folder, logger: silentLogger, store: memoryStore() });
  const remediator = recordingRemediator();
  const controller = createController({
    ...wired.settings,
    policy: staticPolicy({ action: "rollback", reason: "errors", params: {} }),
    remediate: remediator,
  });
  try {
    const { url } = await controller.listen({ host: "127.0.0.1", port: 0 });
    const labels = { alertname: "HighErrorRate", service: "checkout", severity: "critical" };
    const answer = await fetch(`${url}/webhook/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(firingPayload({ alerts: [{ labels, fingerprint: "fp-1" }], groupLabels: labels })),
    });
    expect(answer.status).toBe(200);
    await controller.settled();
    const [incident] = await controller.store.listIncidents();
    return { incident, remediator, guardrails: wired.settings.guardrails };
  } finally {
    await controller.close();
    await wired.close();
  }
}

it("guardrails.killSwitch: true in the config → the incident is suppressed (kill_switch), no apply", async () => {
  const { incident, remediator, guardrails } = await deliverOnce(true);
  expect(guardrails?.killSwitch).toBe(true);
  expect(incident?.state).toBe("suppressed");
  expect(incident?.suppression).toEqual({
    reason: "kill_switch",
    detail: "the kill switch is on in the configuration",
  });
  expect(remediator.applies).toEqual([]);
});

it("the same config with killSwitch: false acts", async () => {
  const { incident, remediator } = await deliverOnce(false);
  expect(incident?.state).toBe("resolved");
  expect(remediator.applies).toHaveLength(1);
});
