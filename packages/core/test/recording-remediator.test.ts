// The testing kit's recording remediator must let a test see a second apply of the same plan,
// which a correct remediator absorbs (`reused`) and which would otherwise hide a controller bug.
import { expect, it } from "vitest";
import { makeIncident } from "../src/testing/index.js";
import { recordingRemediator } from "../src/testing/reference.js";

const decision = {
  action: "rollback",
  params: { image: "checkout:v1.1.0" },
  reason: "test",
  escalate: false,
};

async function planOnce(remediator: ReturnType<typeof recordingRemediator>, idempotencyKey = "key-1") {
  const incident = makeIncident();
  const signal = AbortSignal.timeout(5000);
  const plan = await remediator.plan({ incident, decision, idempotencyKey, signal });
  return { incident, plan, signal };
}

it("records every apply call; a second apply of the same key is visible, not absorbed", async () => {
  const remediator = recordingRemediator();
  const { incident, plan, signal } = await planOnce(remediator);
  const first = await remediator.apply({ incident, plan, signal });
  const second = await remediator.apply({ incident, plan, signal });
  expect(first.reused).toBe(false);
  expect(second.reused).toBe(true);
  expect(remediator.sideEffects).toEqual(["key-1"]);
  expect(remediator.applies).toEqual([
    { idempotencyKey: "key-1", incidentId: incident.id, reused: false },
    { idempotencyKey: "key-1", incidentId: incident.id, reused: true },
  ]);
  expect(remediator.appliesOf("key-1")).toBe(2);
  expect(remediator.appliesOf("other")).toBe(0);
});

it("with failOnDoubleApply, a second apply of the same key throws and makes no side effect", async () => {
  const remediator = recordingRemediator({ failOnDoubleApply: true });
  const { incident, plan, signal } = await planOnce(remediator);
  await remediator.apply({ incident, plan, signal });
  await expect(remediator.apply({ incident, plan, signal })).rejects.toThrow(
    /apply called again for key-1 .*already applied/,
  );
  expect(remediator.sideEffects).toEqual(["key-1"]);
  expect(remediator.appliesOf("key-1")).toBe(2);
  // Another plan is not a double apply.
  const other = await planOnce(remediator, "key-2");
  await expect(remediator.apply(other)).resolves.toMatchObject({ reused: false });
});
