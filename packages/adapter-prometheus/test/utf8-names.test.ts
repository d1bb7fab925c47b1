import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { type Controller, createController, type Incident, memoryStore, silentLogger } from "@selfheal/core";
import { makeDecisionInput, staticPolicy } from "@selfheal/core/testing";
import { afterEach, expect, it } from "vitest";
import { alertmanagerWebhook, prometheusMetrics } from "../src/index.js";
import {
  alertmanagerBinary,
  binaryAvailable,
  prometheusBinary,
  type RunningServer,
  startAlertmanager,
  startPrometheus,
} from "../src/testing/index.js";

// Prometheus 3.0 allows any UTF-8 metric and label name by default (OpenTelemetry's
// `service.name`, kept as it is), and Alertmanager takes them from 0.27 on. Debian's 2.42 / 0.25
// refuse them, so this runs in the pass against today's versions
// (scripts/test-current-prometheus.sh) and says why it skips in the main suite.

/** `[major, minor]` of what `binary --version` prints, or undefined when it cannot be run. */
async function versionOf(binary: string): Promise<readonly [number, number] | undefined> {
  try {
    const { stdout, stderr } = await promisify(execFile)(binary, ["--version"]);
    const match = /version (\d+)\.(\d+)/.exec(stdout + stderr);
    return match === null ? undefined : [Number(match[1]), Number(match[2])];
  } catch {
    return undefined;
  }
}

function atLeast(version: readonly [number, number] | undefined, major: number, minor: number): boolean {
  return version !== undefined && (version[0] > major || (version[0] === major && version[1] >= minor));
}

const binaries = [prometheusBinary(), alertmanagerBinary()];
const missing = (await Promise.all(binaries.map(binaryAvailable))).includes(false);
const [prometheusVersion, alertmanagerVersion] = await Promise.all(binaries.map(versionOf));
const utf8 = atLeast(prometheusVersion, 3, 0) && atLeast(alertmanagerVersion, 0, 27);
// A missing binary fails under CI=true (startPrometheus throws); too old a version skips.
const skip = missing ? process.env.CI !== "true" : !utf8;
const why = `Prometheus ${prometheusVersion?.join(".") ?? "?"} / Alertmanager ${alertmanagerVersion?.join(".") ?? "?"}`;

let controller: Controller | undefined;
let prometheus: RunningServer | undefined;
let alertmanager: RunningServer | undefined;
afterEach(async () => {
  await prometheus?.stop();
  await alertmanager?.stop();
  await controller?.close({ timeout: 1000 });
});

it.skipIf(skip)(
  `UTF-8 metric and label names go from Prometheus through Alertmanager to the incident, and PromQL reads them back (${utf8 ? why : `${why} refuse UTF-8 names`})`,
  async () => {
    const source = alertmanagerWebhook({ path: "/webhook", serviceLabel: "service.name" });
    const policy = staticPolicy({ action: "none", reason: "UTF-8 names test" });
    controller = createController({ sources: [source], policy, store: memoryStore(), logger: silentLogger });
    const { url } = await controller.listen({ port: 0, host: "127.0.0.1" });
    alertmanager = await startAlertmanager({
      webhookUrl: `${url}/webhook`,
      groupBy: ["alertname", "service.name"],
    });
    prometheus = await startPrometheus({
      alertmanagerUrl: alertmanager.url,
      rules: [
        {
          name: "utf8",
          rules: [
            {
              record: "http.server.error.ratio",
              expr: "vector(0.3)",
              labels: { "service.name": "checkout", "k8s.namespace.name": "shop" },
            },
            {
              alert: "ServiceErrorRatio",
              expr: '{"http.server.error.ratio"} > 0.05',
              labels: { "équipe.nom": "paiements ✓" },
            },
          ],
        },
      ],
    });

    // Waits for the delivery; the deadline is only a guard for a loaded machine.
    let incident: Incident | undefined;
    const deadline = Date.now() + 60_000;
    while (incident === undefined && Date.now() < deadline) {
      [incident] = await controller.store.listIncidents();
      if (incident === undefined) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(incident).toMatchObject({
      service: "checkout",
      alertname: "ServiceErrorRatio",
      labels: {
        alertname: "ServiceErrorRatio",
        "service.name": "checkout",
        "k8s.namespace.name": "shop",
        "équipe.nom": "paiements ✓",
      },
    });
    if (incident === undefined) return;

    // A quoted UTF-8 metric and label name in a query, and the level check against the rule as
    // Prometheus serves it (the alert is not named HighErrorRate, whose condition is built in):
    // series labels with dots match the alert's.
    const found = await prometheusMetrics({
      url: prometheus.url,
      queries: { error_rate: '{"http.server.error.ratio", "service.name"="{{service}}"}' },
    }).enrich({ incident, input: makeDecisionInput(), signal: AbortSignal.timeout(20_000) });
    expect(found.metrics?.error_rate).toBeCloseTo(0.3);
    expect(found.facts).toMatchObject({ levelCheck: { status: "ok", holds: true } });
    expect(found.stale).toBeUndefined();
  },
  120_000,
);
