import { afterEach, expect, it } from "vitest";
import {
  type Controller,
  createController,
  type DecisionInput,
  memoryStore,
  silentLogger,
} from "../src/index.js";
import { recordingRemediator } from "../src/testing/index.js";
import { alertSignal } from "./helpers.js";

const open: Controller[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close({ timeout: 1000 })));
});

it("a rollback's quarantine is recorded in the store and shown to later decisions until it expires", async () => {
  let clock = new Date("2026-11-26T10:00:00.000Z");
  const seen: DecisionInput[] = [];
  const remediator = recordingRemediator({
    outcome: { quarantine: [{ version: "checkout:v1.2.0", until: "2026-11-26T12:00:00.000Z" }] },
  });
  const controller = createController({
    store: memoryStore(),
    logger: silentLogger,
    now: () => clock,
    guardrails: { cooldown: 0, rateLimit: { max: 10, window: 60_000 } },
    policy: {
      name: "spy",
      decide: (input) => {
        seen.push(input);
        return { action: "rollback", reason: "bad version", params: {} };
      },
    },
    remediate: remediator,
  });
  open.push(controller);

  await controller.handle([alertSignal({ fingerprint: "fp-1", startsAt: "2026-11-26T09:59:00.000Z" })]);
  await controller.settled();
  const events = await controller.store.listEvents({ types: ["quarantine.added"] });
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ service: "checkout", data: { version: "checkout:v1.2.0" } });
  expect(seen[0]?.deployment?.quarantined).toBeUndefined();

  // A second incident an hour later: the version is still quarantined.
  clock = new Date("2026-11-26T11:00:00.000Z");
  await controller.handle([alertSignal({ fingerprint: "fp-2", startsAt: "2026-11-26T10:59:00.000Z" })]);
  await controller.settled();
  expect(seen[1]?.deployment?.quarantined).toEqual(["checkout:v1.2.0"]);

  // After `until` it is no longer.
  clock = new Date("2026-11-26T13:00:00.000Z");
  await controller.handle([alertSignal({ fingerprint: "fp-3", startsAt: "2026-11-26T12:59:00.000Z" })]);
  await controller.settled();
  expect(seen[2]?.deployment?.quarantined).toBeUndefined();
});
