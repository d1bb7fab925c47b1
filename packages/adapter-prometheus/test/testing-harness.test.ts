import { access } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import {
  alertmanagerBinary,
  BinaryMissingError,
  binaryAvailable,
  prometheusBinary,
  startAlertmanager,
  startPrometheus,
} from "../src/testing/index.js";

const skip =
  !((await binaryAvailable(prometheusBinary())) && (await binaryAvailable(alertmanagerBinary()))) &&
  process.env.CI !== "true";

describe("test harness", () => {
  it("says clearly when a binary is missing", async () => {
    await expect(startPrometheus({ binary: "/nonexistent/prometheus" })).rejects.toThrow(BinaryMissingError);
    await expect(startAlertmanager({ binary: "/nonexistent/alertmanager" })).rejects.toThrow(
      /apt-get install prometheus-alertmanager/,
    );
  });

  it.skipIf(skip)("reports the server's own words when it does not start", async () => {
    const started = startPrometheus({
      rules: [{ name: "broken", rules: [{ alert: "Broken", expr: "sum(" }] }],
    });
    await expect(started).rejects.toThrow(/exited .*[\s\S]*rules/);
  });

  it.skipIf(skip)(
    "runs Prometheus → Alertmanager → webhook, and stop() cleans up",
    async () => {
      const received: string[] = [];
      const webhook = createServer((request, response) => {
        let body = "";
        request.setEncoding("utf8");
        request.on("data", (chunk: string) => {
          body += chunk;
        });
        request.on("end", () => {
          received.push(body);
          response.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve));
      const { port } = webhook.address() as AddressInfo;
      const alertmanager = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${port}/hook` });
      const prometheus = await startPrometheus({
        alertmanagerUrl: alertmanager.url,
        rules: [
          {
            name: "always",
            rules: [{ alert: "AlwaysFiring", expr: "vector(1)", labels: { service: "checkout" } }],
          },
        ],
      });
      try {
        // Waits for the delivery (rule evaluation, then Alertmanager's group wait), with a
        // deadline generous enough for a loaded machine; the processes are stopped either way.
        const deadline = Date.now() + 45_000;
        while (received.length === 0 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const payload = JSON.parse(received[0] ?? "{}") as { alerts?: { labels: Record<string, string> }[] };
        expect(payload.alerts?.[0]?.labels).toMatchObject({ alertname: "AlwaysFiring", service: "checkout" });
      } finally {
        await prometheus.stop();
        await alertmanager.stop();
        await new Promise<void>((resolve) => webhook.close(() => resolve()));
      }
      await expect(access(prometheus.directory)).rejects.toThrow();
      await expect(fetch(`${prometheus.url}/-/ready`)).rejects.toThrow();
      await prometheus.stop();
    },
    60_000,
  );
});
