// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config files, whose ${VAR} is the feature under test
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@selfheal/core";
import { makeDecisionInput } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/index.js";
import { wireController } from "../src/wire/wire-controller.js";
import { resolveService } from "../src/wire/wire-services.js";
import { runInProcess } from "./cli-harness.js";

/** Two config repositories, five services, plain / kustomize (digest) / Helm layouts, every mode. */
export const fleetConfig = (repoA: string, repoB: string) =>
  [
    "listen: { host: 127.0.0.1, port: 0 }",
    "policy: { builtin: {} }",
    "remediate:",
    "  gitops:",
    `    repo: { url: "${repoA}", dir: state/platform-config }`,
    '    locate: { globs: ["apps/**/*.yaml"] }',
    "services:",
    "  defaults: { mode: observe }",
    "  optIn: { label: selfheal, value: enabled, otherwise: observe }",
    "  groups:",
    "    - match: { team: payments }",
    `      repo: { url: "${repoB}", dir: state/payments-config }`,
    '      locate: { globs: ["services/**/*.yaml"] }',
    "  byName:",
    "    checkout: { mode: act }",
    "    cart:",
    "      mode: act",
    "      image: { kind: kustomize, file: '{dir}/kustomization.yaml', name: registry.example.com/shop/cart }",
    "    search:",
    "      image: { kind: helm, file: charts/search/values.yaml, path: image.tag, replicas: replicaCount }",
    "    ledger: { mode: act, maxReplicas: 4 }",
    "    billing: { mode: observe, notify: true }",
    "store: { file: { dir: state/store, fsync: false } }",
    "",
  ].join("\n");

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, "selfheal.yaml", { env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problemsText.split("\n");
    throw error;
  }
  throw new Error("expected the config to be refused");
}

const staging = "staging";
let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "selfheal-services-"));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("services", () => {
  it("gives a service its own policy settings, query templates and Argo CD application", async () => {
    const config = parseConfig(
      [
        "enrich: { prometheus: { url: http://127.0.0.1:1, queries: { restart_count: null } } }",
        "policy: { builtin: { errorRateThreshold: 0.05 } }",
        "services:",
        "  groups:",
        "    - match: { env: staging }",
        "      policy: { errorRateThreshold: 0.5, maxRollbacks: 5 }",
        "  byName:",
        '    search: { argocdApp: "search-{service}-prod", queries: { error_rate: "vector(1)" } }',
        "",
      ].join("\n"),
      "x.yaml",
    );
    const search = resolveService(config, "search", {});
    expect(search).toMatchObject({
      argocdApp: "search-{service}-prod",
      queries: { restart_count: null, error_rate: "vector(1)" },
    });
    expect(resolveService(config, "checkout", { env: staging }).policy).toEqual({
      errorRateThreshold: 0.5,
      maxRollbacks: 5,
    });
    // The wired policy decides with the service's settings: a 30 % error rate rolls back in
    // production, and not where the staging group tolerates up to 50 %.
    const wired = await wireController(config, { baseDir: folder, logger: silentLogger, sideEffects: false });
    try {
      const input = (labels: Record<string, string>) =>
        makeDecisionInput({
          metrics: { error_rate: 0.3, restart_count: 5 },
          alert: { ...makeDecisionInput().alert, labels: { ...makeDecisionInput().alert.labels, ...labels } },
        });
      expect(
        (await wired.settings.policy.decide(input({}), { signal: AbortSignal.timeout(10_000) })).action,
      ).toBe("rollback");
      expect(
        (await wired.settings.policy.decide(input({ env: staging }), { signal: AbortSignal.timeout(10_000) }))
          .action,
      ).toBe("none");
    } finally {
      await wired.close();
    }
  });

  it("refuses per-service policy settings without the built-in policy, at the key", () => {
    const text = [
      "policy: { opa: { url: http://opa:8181 } }",
      "services:",
      "  byName:",
      "    checkout:",
      "      policy: { errorRateThreshold: 0.5 }",
      "",
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      "selfheal.yaml:5:15 services.byName.checkout.policy: per-service policy settings are for the built-in policy: set policy.builtin (with OPA, decide per service in Rego)",
    ]);
  });

  it("a two-repository, five-service config with mixed layouts and modes passes selfheal check", async () => {
    await writeFile(
      join(folder, "fleet.yaml"),
      fleetConfig(
        "https://git.example.com/platform/config.git",
        "https://git.example.com/payments/config.git",
      ),
    );
    const answer = await runInProcess(["check", "-c", "fleet.yaml"], { cwd: folder });
    expect(answer.stderr).toBe("");
    expect(answer.code).toBe(0);
  });

  it("resolves defaults, then label-selected groups, then the service itself; opt-in only holds back", () => {
    const config = parseConfig(fleetConfig("https://a.example/c.git", "https://b.example/c.git"), "x.yaml");
    const enabled = { selfheal: "enabled" };
    // Unlisted: the defaults.
    expect(resolveService(config, "search-api", enabled)).toMatchObject({ mode: "observe" });
    // A group by label: the payments repository.
    const ledger = resolveService(config, "ledger", { ...enabled, team: "payments" });
    expect(ledger).toMatchObject({ mode: "act" });
    expect(ledger.gitops).toMatchObject({
      repo: { url: "https://b.example/c.git", dir: "state/payments-config" },
      locate: { globs: ["services/**/*.yaml"] },
      maxReplicas: 4,
      mode: "direct",
    });
    // Without the group's label: the platform repository, the service's own cap.
    expect(resolveService(config, "ledger", enabled).gitops?.repo.url).toBe("https://a.example/c.git");
    // Without the opt-in label, act is held to observe; the label cannot lift observe.
    expect(resolveService(config, "checkout", {}).mode).toBe("observe");
    expect(resolveService(config, "billing", enabled)).toMatchObject({ mode: "observe", notify: true });
    expect(resolveService(config, "cart", enabled).gitops?.image).toMatchObject({ kind: "kustomize" });
  });

  it("check reports every problem at once, each at its own key: a missing variable hides nothing", () => {
    const text = [
      "policy: { builtin: {} }",
      "remediate:",
      "  gitops:",
      "    repo: { url: https://git.example.com/c.git, token: '${GIT_TOKEN}' }",
      "    forge: { git: {} }",
      "    mode: change_request",
      "services:",
      "  byName:",
      "    checkout:",
      "      mode: propose",
      "      replicas: 3",
      "    cart: { mode: acting }",
      "",
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      "selfheal.yaml:4:56 remediate.gitops.repo.token: environment variable GIT_TOKEN is not set",
      "selfheal.yaml:6:11 remediate.gitops.mode: change_request needs a forge with change requests (forge.github or forge.gitlab); plain git can only commit directly (mode: direct)",
      'selfheal.yaml:11:7 services.byName.checkout.replicas: unknown key "replicas"',
      'selfheal.yaml:12:19 services.byName.cart.mode: expected one of "observe", "propose", "act", got "acting"',
    ]);
    // Once the others are fixed, the cross-field rule of services is reported at its key.
    const fixed = text
      .replace("      replicas: 3\n", "")
      .replace("acting", "act")
      .replace("    mode: change_request\n", "");
    expect(problemsOf(fixed, { GIT_TOKEN: "t" })).toEqual([
      "selfheal.yaml:9:13 services.byName.checkout.mode: propose opens change requests: it needs forge.github or forge.gitlab (here or under remediate.gitops); plain git can only act or observe",
    ]);
  });
});
