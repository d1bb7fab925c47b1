// The kill switch stops side effects at every point where one could still start: set in the
// configuration, and pulled while an incident is already `acting` (during a hook, during a retry
// pause), each time with `remediation.cancelled` recorded and no apply made.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import {
  type Controller,
  type ControllerSettings,
  createController,
  memoryStore,
  SelfHealError,
  silentLogger,
} from "../src/index.js";
import { recordingRemediator, staticPolicy } from "../src/testing/index.js";
import { alertSignal, tempDir } from "./helpers.js";

const rollback = {
  action: "rollback",
  reason: "error rate high",
  params: { image: "checkout:v1.1.0" },
} as const;
const open: Controller[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close({ timeout: 1000 })));
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

function controller(settings: Partial<ControllerSettings>): Controller {
  const created = createController({
    policy: staticPolicy(rollback),
    store: memoryStore(),
    logger: silentLogger,
    ...settings,
    guardrails: { cooldown: 0, ...settings.guardrails },
  });
  open.push(created);
  return created;
}

/** The event types of the only incident, in order. */
async function trail(c: Controller): Promise<string[]> {
  const [incident] = await c.store.listIncidents();
  if (incident === undefined) throw new Error("no incident");
  return (await c.store.listEvents({ incidentId: incident.id })).map((event) =>
    event.type === "incident.state" ? `state:${String(event.data?.to)}` : event.type,
  );
}

it("guardrails.killSwitch in the configuration: the decision is recorded, nothing is applied", async () => {
  const remediator = recordingRemediator();
  const c = controller({ remediate: remediator, guardrails: { killSwitch: true } });
  await c.handle([alertSignal()]);
  await c.settled();
  const [incident] = await c.store.listIncidents();
  expect(incident?.state).toBe("suppressed");
  expect(incident?.suppression).toEqual({
    reason: "kill_switch",
    detail: "the kill switch is on in the configuration",
  });
  expect(remediator.applies).toEqual([]);
  const types = await trail(c);
  expect(types).toContain("decision.made");
  expect(types).toContain("guardrail.suppressed");
  expect(types).not.toContain("remediation.started");
});

it("a kill switch file created by a hook while the incident is acting cancels the apply", async () => {
  const { dir, cleanup } = await tempDir();
  cleanups.push(cleanup);
  const killFile = join(dir, "STOP");
  const remediator = recordingRemediator();
  const c = controller({
    remediate: remediator,
    guardrails: { killSwitchFile: killFile },
    hooks: [
      {
        name: "operator",
        // The operator pulls the switch while the action is recorded as started: after the
        // guardrails passed, before the remediator's apply.
        async beforeRemediation() {
          await writeFile(killFile, "");
          return { silenced: true };
        },
        async afterClose() {},
      },
    ],
  });
  await c.handle([alertSignal()]);
  await c.settled();
  const [incident] = await c.store.listIncidents();
  expect(incident?.state).toBe("suppressed");
  expect(incident?.suppression?.reason).toBe("kill_switch");
  expect(remediator.applies).toEqual([]);
  const types = await trail(c);
  // It was acting (started recorded) when the switch was pulled, and the cancel is recorded.
  expect(types.indexOf("state:acting")).toBeGreaterThan(-1);
  expect(types.indexOf("remediation.started")).toBeLessThan(types.indexOf("remediation.cancelled"));
  expect(types.slice(types.indexOf("remediation.started"))).toEqual(
    expect.arrayContaining([
      "hook.completed",
      "remediation.cancelled",
      "guardrail.suppressed",
      "incident.closed",
    ]),
  );
  expect(types).not.toContain("remediation.completed");
  expect(types).not.toContain("remediation.failed");
});

it("the kill switch variable set during a retry pause stops the retry", async () => {
  const env: NodeJS.ProcessEnv = {};
  let calls = 0;
  const remediator = recordingRemediator({
    beforeApply: () => {
      calls++;
      // The first attempt fails retryably; meanwhile the operator pulls the switch.
      env.SELFHEAL_KILL_SWITCH = "on";
      throw new SelfHealError("forge answered 503", { adapter: "test", retryable: true });
    },
  });
  const c = controller({ remediate: remediator, env });
  await c.handle([alertSignal()]);
  await c.settled();
  const [incident] = await c.store.listIncidents();
  expect(calls).toBe(1);
  expect(remediator.applies).toHaveLength(1);
  expect(remediator.sideEffects).toEqual([]);
  expect(incident?.state).toBe("suppressed");
  expect(incident?.suppression).toEqual({ reason: "kill_switch", detail: "SELFHEAL_KILL_SWITCH=on" });
  const [cancelled] = await c.store.listEvents({ types: ["remediation.cancelled"] });
  expect(cancelled?.message).toBe(
    "not tried again after a failed attempt (forge answered 503): SELFHEAL_KILL_SWITCH=on",
  );
});
