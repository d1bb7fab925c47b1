import { mkdtemp, rm } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  auditReport,
  BadInputError,
  type Controller,
  createController,
  fileStore,
  memoryStore,
  type Store,
  silentLogger,
} from "@selfheal/core";
import { staticPolicy } from "@selfheal/core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { alertmanagerWebhook, firingPayload } from "../src/index.js";

let controller: Controller | undefined;
const folders: string[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await controller?.close({ timeout: 1000 });
  controller = undefined;
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

const token = "intake-bearer-0123456789";

async function start(options: { store?: Store; listen?: Parameters<Controller["listen"]>[0] } = {}) {
  const policy = staticPolicy({ action: "none", reason: "intake test" });
  controller = createController({
    sources: [alertmanagerWebhook({ path: "/webhook", auth: { bearer: token } })],
    policy,
    store: options.store ?? memoryStore(),
    logger: silentLogger,
  });
  const listening = await controller.listen({ port: 0, host: "127.0.0.1", ...options.listen });
  const post = (body: string | Uint8Array) =>
    fetch(`${listening.url}/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body,
    });
  return { controller, policy, post, port: listening.port };
}

function payload(
  alerts: { pod: string; service?: string; fingerprint: string }[],
  extra: Record<string, unknown> = {},
) {
  return {
    ...firingPayload({
      alerts: alerts.map((alert) => ({
        labels: {
          alertname: "HighErrorRate",
          pod: alert.pod,
          ...(alert.service === undefined ? {} : { service: alert.service }),
        },
        fingerprint: alert.fingerprint,
      })),
      groupLabels: { alertname: "HighErrorRate" },
    }),
    ...extra,
  };
}

describe("webhook intake through a controller", () => {
  it("truncatedAlerts: 3 is recorded on the signal event, the incident and its opening, and given to the policy", async () => {
    const folder = await mkdtemp(join(tmpdir(), "selfheal-intake-"));
    folders.push(folder);
    const { controller, policy, post } = await start({ store: fileStore(folder) });
    const body = payload([{ pod: "a", service: "checkout", fingerprint: "00000000000000a1" }], {
      truncatedAlerts: 3,
    });
    expect((await post(JSON.stringify(body))).status).toBe(200);
    await controller.settled();
    const [incident] = await controller.store.listIncidents();
    expect(incident?.truncatedAlerts).toBe(3);
    const events = await controller.store.listEvents({ incidentId: incident?.id ?? "" });
    expect(events.find((event) => event.type === "incident.opened")?.data?.truncatedAlerts).toBe(3);
    expect(events.find((event) => event.type === "signal.received")?.data?.truncatedAlerts).toBe(3);
    expect(policy.inputs[0]?.alert.truncated_alerts).toBe(3);
    const decided = events.find((event) => event.type === "decision.made");
    expect(decided?.data?.input).toMatchObject({ alert: { truncated_alerts: 3 } });
  });

  it("without truncatedAlerts nothing says alerts were left out", async () => {
    const { controller, policy, post } = await start();
    const body = payload([{ pod: "a", service: "checkout", fingerprint: "00000000000000a1" }]);
    expect((await post(JSON.stringify(body))).status).toBe(200);
    await controller.settled();
    const [incident] = await controller.store.listIncidents();
    expect(incident !== undefined && "truncatedAlerts" in incident).toBe(false);
    expect(policy.inputs[0]?.alert).not.toHaveProperty("truncated_alerts");
  });

  it("one malformed and one valid alert: 200, the valid one is an incident, the other a signal.rejected event", async () => {
    const { controller, post } = await start();
    const body = payload([
      { pod: "a", fingerprint: "00000000000000a1" },
      { pod: "b", service: "checkout", fingerprint: "00000000000000b2" },
    ]);
    body.commonLabels = {};
    const response = await post(JSON.stringify(body));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: "accepted",
      signals: 1,
      rejected: 1,
      rejections: [{ index: 0, path: "alerts[0].labels.service" }],
    });
    await controller.settled();
    const incidents = await controller.store.listIncidents();
    expect(incidents.map((incident) => [incident.service, incident.fingerprint])).toEqual([
      ["checkout", "00000000000000b2"],
    ]);
    const rejected = await controller.store.listEvents({ types: ["signal.rejected"] });
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.data).toEqual({
      source: "alertmanager",
      scope: "item",
      index: 0,
      path: "alerts[0].labels.service",
      reason: expect.stringContaining('no "service" label'),
      fingerprint: "00000000000000a1",
    });
    // Never the alert itself: its labels are untrusted and stay out of the trail.
    expect(JSON.stringify(rejected)).not.toContain('"pod"');
    // `selfheal audit` lists it, though no incident tells of it.
    expect((await auditReport(controller.store)).rejections).toEqual([
      expect.objectContaining({ source: "alertmanager", scope: "item", path: "alerts[0].labels.service" }),
    ]);
  });

  it("a body that is not UTF-8: 400, no signal, no incident, one signal.rejected with the reason", async () => {
    const { controller, post } = await start();
    const text = JSON.stringify(
      payload([{ pod: "a", service: "checkout", fingerprint: "00000000000000a1" }]),
    );
    const cut = text.indexOf("HighErrorRate") + 4;
    const body = Buffer.concat([
      Buffer.from(text.slice(0, cut)),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(text.slice(cut)),
    ]);
    const response = await post(body);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as { error: { message: string } };
    expect(error.message).toContain(`byte offset ${cut}`);
    await controller.settled();
    expect(await controller.store.listIncidents()).toEqual([]);
    const events = await controller.store.listEvents();
    expect(events.map((event) => [event.type, event.data?.scope, event.data?.status])).toEqual([
      ["signal.rejected", "delivery", 400],
    ]);
    expect(events[0]?.data?.reason).toContain("not valid UTF-8");
  });
});

describe("webhook server timeouts", () => {
  it("closes clients that trickle headers or a body, and answers a normal delivery meanwhile", async () => {
    const { controller, post, port } = await start({
      listen: { headersTimeout: "1s", requestTimeout: "2s" },
    });
    const closed: Promise<void>[] = [];
    const timers: NodeJS.Timeout[] = [];
    const trickle = (start: string, byte: string) => {
      const socket = connect(port, "127.0.0.1");
      sockets.push(socket);
      socket.on("error", () => {});
      closed.push(new Promise((resolve) => socket.once("close", () => resolve())));
      socket.write(start);
      // One byte a second, for as long as the server keeps the connection.
      const timer = setInterval(() => {
        if (!socket.destroyed) socket.write(byte);
      }, 1000);
      timers.push(timer);
      socket.once("close", () => clearInterval(timer));
    };
    try {
      for (let index = 0; index < 20; index++) trickle("POST /webhook HTTP/1.1\r\nHost: x\r\nX-Slow: ", "a");
      for (let index = 0; index < 5; index++) {
        trickle(
          `POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${token}\r\nContent-Length: 100000\r\n\r\n`,
          " ",
        );
      }
      const body = payload([{ pod: "a", service: "checkout", fingerprint: "00000000000000a1" }]);
      expect((await post(JSON.stringify(body))).status).toBe(200);
      // A generous guard: the configured limits are 1 s and 2 s.
      let guard: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([
        Promise.all(closed).then(() => "all closed"),
        new Promise((resolve) => {
          guard = setTimeout(() => resolve("still open after 60 s"), 60_000);
        }),
      ]);
      clearTimeout(guard);
      expect(outcome).toBe("all closed");
      expect(await controller.store.listIncidents()).toHaveLength(1);
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  }, 90_000);

  it("refuses timeouts that cannot work, naming the option", async () => {
    const refused = createController({
      policy: staticPolicy({ action: "none", reason: "-" }),
      store: memoryStore(),
      logger: silentLogger,
    });
    try {
      await expect(refused.listen({ port: 0, headersTimeout: "30s", requestTimeout: "10s" })).rejects.toThrow(
        /listen.headersTimeout .* must not be longer than listen.requestTimeout/,
      );
      await expect(refused.listen({ port: 0, keepAliveTimeout: 0 })).rejects.toThrow(BadInputError);
    } finally {
      await refused.close({ timeout: 1000 });
    }
  });
});
