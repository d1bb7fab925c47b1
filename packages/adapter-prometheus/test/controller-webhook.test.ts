import { readFile } from "node:fs/promises";
import { type Controller, createController, memoryStore, silentLogger } from "@selfheal/core";
import { recordingRemediator, staticPolicy } from "@selfheal/core/testing";
import { afterEach, expect, it } from "vitest";
import { alertmanagerWebhook } from "../src/index.js";
import { contractUrl } from "./contract-files.js";

const example = contractUrl("alertmanager-webhook-example.json");
let controller: Controller | undefined;
afterEach(async () => {
  await controller?.close({ timeout: 1000 });
});

async function start(remediator = recordingRemediator()) {
  controller = createController({
    sources: [alertmanagerWebhook({ path: "/webhook", auth: { bearer: "s3cret-token-value" } })],
    policy: staticPolicy({ action: "rollback", reason: "test", params: {} }),
    remediate: remediator,
    store: memoryStore(),
    logger: silentLogger,
  });
  const { url } = await controller.listen({ port: 0, host: "127.0.0.1" });
  const post = (body: string, token = "s3cret-token-value") =>
    fetch(`${url}/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body,
    });
  return { controller, remediator, post };
}

it("the same Alertmanager notification delivered 3 times at once → 1 incident, 1 action", async () => {
  const { controller, remediator, post } = await start();
  const body = await readFile(example, "utf8");
  const answers = await Promise.all([post(body), post(body), post(body)]);
  expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
  await controller.settled();
  expect(await controller.store.listIncidents()).toHaveLength(1);
  expect(remediator.sideEffects).toHaveLength(1);
});

it("the same notification delivered 3 times in a row → 1 incident, 1 action", async () => {
  const { controller, remediator, post } = await start();
  const body = await readFile(example, "utf8");
  for (let i = 0; i < 3; i++) expect((await post(body)).status).toBe(200);
  await controller.settled();
  expect(await controller.store.listIncidents()).toHaveLength(1);
  expect(remediator.sideEffects).toHaveLength(1);
});

it("refused deliveries and rejected alerts act on nothing; only authenticated ones are recorded, as rejected", async () => {
  const { controller, remediator, post } = await start();
  const body = await readFile(example, "utf8");
  expect((await post(body, "wrong-token-value")).status).toBe(401);
  expect(await controller.store.listEvents()).toHaveLength(0);
  const refused = [
    await post("{not json"),
    await post(body.replace('"version": "4"', '"version": "3"')),
    await post(
      JSON.stringify({
        ...JSON.parse(body),
        alerts: (JSON.parse(body) as { alerts: Record<string, unknown>[] }).alerts.map(
          ({ fingerprint: _, ...alert }) => alert,
        ),
      }),
    ),
  ];
  expect(refused.map((answer) => answer.status)).toEqual([400, 400, 200]);
  expect(await refused[2]?.json()).toMatchObject({ status: "accepted", signals: 0, rejected: 2 });
  await controller.settled();
  expect(await controller.store.listIncidents()).toHaveLength(0);
  const events = await controller.store.listEvents();
  expect(events.map((event) => event.type)).toEqual(Array(4).fill("signal.rejected"));
  expect(events.map((event) => [event.data?.scope, event.data?.path])).toEqual([
    ["delivery", undefined],
    ["delivery", "version"],
    ["item", "alerts[0].fingerprint"],
    ["item", "alerts[1].fingerprint"],
  ]);
  expect(remediator.sideEffects).toHaveLength(0);
});

it("answers 503 (which Alertmanager retries), not 429, while too many deliveries wait for the store", async () => {
  const store = memoryStore();
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered: () => void = () => {};
  const firstIngest = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const slowStore = {
    ...store,
    ingest: async (entries: Parameters<typeof store.ingest>[0]) => {
      entered();
      await held;
      return store.ingest(entries);
    },
  };
  controller = createController({
    sources: [alertmanagerWebhook({ path: "/webhook" })],
    policy: staticPolicy({ action: "none", reason: "test", params: {} }),
    store: slowStore,
    logger: silentLogger,
    maxPendingDeliveries: 1,
  });
  const { url } = await controller.listen({ port: 0, host: "127.0.0.1" });
  const body = await readFile(example, "utf8");
  const post = () =>
    fetch(`${url}/webhook`, { method: "POST", headers: { "content-type": "application/json" }, body });
  const first = post();
  await firstIngest; // the first delivery now waits for the store
  const second = await post();
  expect(second.status).toBe(503);
  expect(second.headers.get("retry-after")).not.toBeNull();
  release();
  expect((await first).status).toBe(200);
});
