// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config files, whose ${VAR} is the feature under test
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@selfheal/adapter-prometheus/testing";
import { createController, type RemediationPlan, type RemediationResult, silentLogger } from "@selfheal/core";
import { makeIncident } from "@selfheal/core/testing";
import { type GitHttpServer, startGitHttpServer } from "@selfheal/gitops/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig, wireController } from "../src/index.js";
import { checkoutConfigRepo } from "./config-repo.js";

let server: GitHttpServer;
let folder: string;

beforeAll(async () => {
  server = await startGitHttpServer();
  folder = await mkdtemp(join(tmpdir(), "selfheal-cli-wire-"));
});

afterAll(async () => {
  await server.close();
  await rm(folder, { recursive: true, force: true });
});

describe("wireController", () => {
  it("wires a controller from a config: file store, builtin policy, gitops on a real git server; /readyz answers", async () => {
    const repo = await checkoutConfigRepo(server, "wire-config");
    const config = parseConfig(
      [
        "sources:",
        "  alertmanager:",
        "    bearerToken: ${AM_TOKEN}",
        "policy:",
        "  builtin: { errorRateThreshold: 0.1, rollbackWindow: 1h }",
        "remediate:",
        "  gitops:",
        `    repo: { url: "${repo.url}", dir: repo }`,
        '    locate: { globs: ["apps/**/*.yaml"] }',
        "guardrails:",
        "  rateLimit: { max: 1, window: 1h }",
        "  killSwitchFile: stop",
        "store:",
        "  file: { dir: state, fsync: false }",
        "",
      ].join("\n"),
      "selfheal.yaml",
      { env: { AM_TOKEN: "am-secret" } },
    );
    const wired = await wireController(config, { baseDir: folder, logger: silentLogger });
    expect(wired.settings.policy.name).toBe("builtin");
    expect(wired.settings.enrich?.map((enricher) => enricher.name)).toEqual(["gitops"]);
    expect(wired.settings.sources?.map((source) => source.route?.path)).toEqual(["/webhook/alertmanager"]);
    expect(wired.settings.guardrails).toMatchObject({
      rateLimit: { max: 1, window: "1h" },
      killSwitchFile: join(folder, "stop"),
    });
    expect(wired.settings.store?.name).toContain(join(folder, "state"));
    expect(wired.workspace?.url).toBe(repo.url);
    expect(await wired.workspace?.refresh(AbortSignal.timeout(20_000))).toMatch(/^[0-9a-f]{40}$/);

    const controller = createController(wired.settings);
    try {
      const { url } = await controller.listen({ host: "127.0.0.1", port: 0 });
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      // The webhook wants the configured token.
      const refused = await fetch(`${url}/webhook/alertmanager`, { method: "POST", body: "{}" });
      expect(refused.status).toBe(401);
    } finally {
      await controller.close();
      await wired.close();
    }
  });

  it("wires OPA, GitHub, Argo CD, Prometheus, notifiers and a postgres store without calling any of them", async () => {
    const config = parseConfig(
      [
        "enrich:",
        "  prometheus: { url: http://127.0.0.1:1 }",
        "policy:",
        "  opa: { url: http://127.0.0.1:1, token: t }",
        "remediate:",
        "  gitops:",
        "    repo: { url: http://127.0.0.1:1/config.git, token: t }",
        "    forge: { github: { owner: acme, repo: config, token: ghp_x } }",
        "verify:",
        "  argocd: { url: https://127.0.0.1:1, token: t, app: '{service}-prod' }",
        "  prometheusRecovery: { below: 0.01 }",
        "notify:",
        "  slack: { url: https://hooks.slack.com/services/x }",
        "  webhook: { url: https://hooks.example.com/x }",
        "hooks:",
        "  alertmanagerSilence: { url: http://127.0.0.1:1, duration: 30m }",
        "store:",
        "  postgres: { connectionString: postgres://selfheal@127.0.0.1:1/selfheal }",
        "",
      ].join("\n"),
      "selfheal.yaml",
    );
    const wired = await wireController(config, { baseDir: folder, logger: silentLogger });
    try {
      expect(wired.settings.policy.name).toBe("opa:selfheal/decision");
      expect(wired.settings.enrich?.map((enricher) => enricher.name)).toEqual(["prometheus", "gitops"]);
      expect(wired.settings.verify?.map((verifier) => [verifier.name, verifier.stage])).toEqual([
        ["argocd-sync", "sync"],
        ["prometheus-recovery", "recovery"],
      ]);
      expect(wired.settings.notify?.map((notifier) => notifier.name)).toEqual(["slack", "webhook"]);
      expect(wired.settings.hooks?.map((hook) => hook.name)).toEqual(["alertmanager-silence"]);
      expect(wired.settings.store?.name).toMatch(/^postgres:/);
    } finally {
      await wired.settings.store?.close();
      await wired.close();
    }
  });

  it("adds Argo CD's status as facts on verify.argocd's connection, and refuses it without one", async () => {
    const withArgo = parseConfig(
      [
        "enrich: { argocdStatus: true, gitopsDeployment: false }",
        "policy: { builtin: {} }",
        "verify:",
        "  argocd: { url: https://127.0.0.1:1, token: t }",
        "store: { file: { dir: state-argo } }",
        "",
      ].join("\n"),
      "selfheal.yaml",
    );
    const wired = await wireController(withArgo, { baseDir: folder, logger: silentLogger });
    try {
      expect(wired.settings.enrich?.map((enricher) => enricher.name)).toEqual(["argocd"]);
    } finally {
      await wired.settings.store?.close();
      await wired.close();
    }
    const without = parseConfig("enrich: { argocdStatus: true }\npolicy: { builtin: {} }\n", "selfheal.yaml");
    await expect(wireController(without, { baseDir: folder, logger: silentLogger })).rejects.toThrow(
      /enrich.argocdStatus: needs verify.argocd/,
    );
  });

  it("refuses a forge without change requests in change_request mode as a config problem, at the key", () => {
    // `check` reports it at the key's own line; `run` never gets as far as wiring it.
    expect(() =>
      parseConfig(
        "policy: { builtin: {} }\nremediate:\n  gitops:\n    repo: { url: http://127.0.0.1:1/c.git }\n    mode: change_request\n",
        "selfheal.yaml",
      ),
    ).toThrow(
      /selfheal\.yaml:5:11 remediate\.gitops\.mode: change_request needs a forge with change requests/,
    );
  });

  it("serves the controller's OpenTelemetry metrics for Prometheus on telemetry.prometheus", async () => {
    const port = await freePort();
    const config = parseConfig(
      `policy: { builtin: {} }\nstore: { file: { dir: metrics-state, fsync: false } }\ntelemetry:\n  prometheus: { host: 127.0.0.1, port: ${port}, path: /m }\n`,
      "selfheal.yaml",
    );
    const wired = await wireController(config, { baseDir: folder, logger: silentLogger });
    const controller = createController(wired.settings);
    try {
      expect(wired.telemetry?.url).toBe(`http://127.0.0.1:${port}/m`);
      await controller.start();
      const answer = await fetch(`http://127.0.0.1:${port}/m`);
      expect(answer.status).toBe(200);
      expect(await answer.text()).toMatch(/^# (HELP|TYPE) selfheal_/m);
    } finally {
      await controller.close();
      await wired.close();
    }
    await expect(fetch(`http://127.0.0.1:${port}/m`)).rejects.toThrow();
  });

  it("verifies each incident by its own symptom: HighCPU by CPU usage, others by the error rate, byAlert overriding", async () => {
    /** The query the recovery verifier asked for an incident of this alert name (it fails at once: nobody listens). */
    async function queryFor(yaml: string, alertname: string): Promise<unknown> {
      const wired = await wireController(parseConfig(yaml, "selfheal.yaml"), {
        baseDir: folder,
        logger: silentLogger,
      });
      try {
        const [verifier] = wired.settings.verify ?? [];
        const result = await verifier?.verify({
          incident: makeIncident({ alertname, labels: { alertname, service: "checkout" } }),
          plan: {} as RemediationPlan,
          result: {} as RemediationResult,
          signal: AbortSignal.timeout(20_000),
        });
        expect(result?.outcome).toBe("failed");
        return result?.evidence?.query;
      } finally {
        await wired.settings.store?.close();
        await wired.close();
      }
    }
    const base = [
      "enrich: { gitopsDeployment: false }",
      "policy: { builtin: {} }",
      "store: { file: { dir: state-recovery } }",
      "verify:",
      "  prometheusRecovery:",
      "    url: http://127.0.0.1:1",
      "    hold: 1s",
      "    deadline: 1ms",
    ];
    const defaults = [...base, ""].join("\n");
    expect(await queryFor(defaults, "HighCPU")).toContain("container_cpu_usage_seconds_total");
    expect(await queryFor(defaults, "HighErrorRate")).toContain("http_requests_total");
    const own = [
      ...base,
      "    byAlert:",
      "      HighCPU: { query: 'cpu:ratio{service=\"{{service}}\"}', below: 0.7 }",
      "",
    ].join("\n");
    expect(await queryFor(own, "HighCPU")).toBe('cpu:ratio{service="checkout"}');
    expect(await queryFor(own, "HighErrorRate")).toContain("http_requests_total");
  });
});
