// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config files, whose ${VAR} is the feature under test
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, configJsonSchema, loadConfig, parseConfig } from "../src/index.js";
import { runInProcess } from "./cli-harness.js";

const example = fileURLToPath(new URL("../selfheal.example.yaml", import.meta.url));
const exampleEnv = {
  ALERTMANAGER_TOKEN: "am-token",
  OPA_TOKEN: "opa-token",
  GIT_TOKEN: "git-token",
  GITHUB_TOKEN: "ghp_exampleexampleexample",
  ARGOCD_TOKEN: "argocd-token",
  DATABASE_URL: "postgres://selfheal@127.0.0.1:5432/selfheal",
  SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T0/B0/x",
  HOOK_TOKEN: "hook-token",
};

/** The problems of a config text, as printed. */
function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, "selfheal.yaml", { env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problemsText.split("\n");
    throw error;
  }
  throw new Error("expected the config to be refused");
}

describe("config errors name the file, line, column and key path", () => {
  it("reports an unknown key at the key", () => {
    const text = ["policy:", "  builtin: {}", "guardrails:", "  ratelimit: { max: 2, window: 30m }", ""].join(
      "\n",
    );
    expect(problemsOf(text)).toEqual(['selfheal.yaml:4:3 guardrails.ratelimit: unknown key "ratelimit"']);
  });

  it("reports a wrong type at the value", () => {
    const text = [
      "policy:",
      "  builtin: {}",
      "guardrails:",
      "  rateLimit:",
      "    max: two",
      "    window: 30m",
      "",
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      "selfheal.yaml:5:10 guardrails.rateLimit.max: expected number, got string",
    ]);
  });

  it("reports a missing value at its parent key", () => {
    const text = [
      "policy:",
      "  builtin: {}",
      "remediate:",
      "  gitops:",
      "    repo:",
      "      branch: main",
      "",
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      "selfheal.yaml:5:5 remediate.gitops.repo.url: missing value (expected string)",
    ]);
  });

  it("reports a missing section choice, and every problem at once", () => {
    const text = [
      "listen:",
      '  port: "9090"',
      "policy: {}",
      "guardrails:",
      "  cooldown: soon",
      "  freezeWindows:",
      '    - { days: [sat], start: "25:00" }',
      "",
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      "selfheal.yaml:2:9 listen.port: expected number, got string",
      "selfheal.yaml:3:9 policy: expected one of: builtin, opa",
      'selfheal.yaml:5:13 guardrails.cooldown: expected a duration such as "500ms", "30s", "30m" or "1h30m"',
      "selfheal.yaml:7:29 guardrails.freezeWindows[0].start: expected a time of day HH:MM (UTC)",
    ]);
  });

  it("reports a choice (union) from the branch that was meant, or lists the alternatives", () => {
    const text = [
      "policy: { builtin: {} }",
      "guardrails: { rateLimit: yes, circuitBreaker: { failures: x } }",
      "remediate:",
      "  gitops:",
      "    repo: { url: http://git.example.com/config.git }",
      "    image: { kind: helm, file: values.yaml }",
      "    mode: ghp_abcdefghijklmnopqrstuvwxyz0123456789",
      "",
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      "selfheal.yaml:2:26 guardrails.rateLimit: expected false or object, got string",
      "selfheal.yaml:2:59 guardrails.circuitBreaker.failures: expected number, got string",
      "selfheal.yaml:6:5 remediate.gitops.image.path: missing value (expected string)",
      'selfheal.yaml:7:11 remediate.gitops.mode: expected one of "change_request", "direct", got "ghp_[REDACTED]"',
    ]);
  });

  it("reports a missing environment variable with its line, and never a value", () => {
    const text = [
      "policy:",
      "  opa:",
      "    url: http://opa:8181",
      "    token: ${OPA_TOKEN}",
      "store:",
      "  postgres:",
      '    connectionString: "postgres://u:${DB_PASSWORD}@db/selfheal"',
      "",
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      "selfheal.yaml:4:12 policy.opa.token: environment variable OPA_TOKEN is not set",
      "selfheal.yaml:7:23 store.postgres.connectionString: environment variable DB_PASSWORD is not set",
    ]);
  });

  it("reports YAML syntax errors with their position, and how to write a variable in a flow map", () => {
    const [problem] = problemsOf("policy:\n  builtin: {\n");
    expect(problem).toMatch(/^selfheal\.yaml:\d+:\d+ /);
    const [flow] = problemsOf("policy:\n  opa: { url: ${OPA_URL} }\n");
    expect(flow).toMatch(/^selfheal\.yaml:2:\d+ .*quote a variable: "\$\{VAR\}"/);
  });
});

describe("environment substitution", () => {
  it("replaces variables in values, types a whole plain reference, and leaves keys and comments alone", () => {
    const text = [
      "# ${NOT_SET} in a comment needs no variable",
      "listen:",
      "  port: ${PORT}",
      "policy:",
      "  opa:",
      "    url: http://${OPA_HOST}:8181",
      "    token: ${TOKEN}",
      "sources:",
      "  alertmanager:",
      '    bearerToken: "$${literal}"',
      "",
    ].join("\n");
    const config = parseConfig(text, "selfheal.yaml", {
      env: { PORT: "9191", OPA_HOST: "opa.svc", TOKEN: "s3cr#t: 'x'" },
    });
    expect(config.listen.port).toBe(9191);
    expect(config.policy.opa?.url).toBe("http://opa.svc:8181");
    expect(config.policy.opa?.token).toBe("s3cr#t: 'x'");
    expect(config.sources.alertmanager?.bearerToken).toBe("${literal}");
  });

  it("keeps a quoted reference a string", () => {
    const text = 'policy:\n  builtin: {}\ncontroller:\n  instanceId: "${ID}"\n';
    expect(parseConfig(text, "selfheal.yaml", { env: { ID: "42" } }).controller.instanceId).toBe("42");
  });
});

describe("the shipped example and schema", () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "selfheal-cli-config-"));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("loads selfheal.example.yaml with every section", async () => {
    const config = await loadConfig(example, { env: exampleEnv });
    expect(config.policy.opa?.token).toBe("opa-token");
    expect(config.remediate.gitops?.forge?.github?.token).toBe(exampleEnv.GITHUB_TOKEN);
    expect(config.guardrails.rateLimit).toEqual({ max: 2, window: "30m" });
    expect(config.guardrails.freezeWindows).toHaveLength(2);
    expect(config.store.postgres?.connectionString).toBe(exampleEnv.DATABASE_URL);
    expect(config.verify.argocd?.app).toBe("{service}-prod");
    expect(config.telemetry.prometheus).toEqual({ host: "0.0.0.0", port: 9464, path: "/metrics" });
    expect(config.services.byName.checkout?.mode).toBe("propose");
    expect(config.services.groups[0]?.repo?.url).toBe("https://github.com/acme/payments-config.git");
  });

  it("has a JSON Schema that forbids unknown keys and lists every section", () => {
    const schema = configJsonSchema() as {
      properties: Record<string, unknown>;
      additionalProperties: unknown;
    };
    expect(Object.keys(schema.properties).sort()).toEqual([
      "controller",
      "enrich",
      "guardrails",
      "hooks",
      "listen",
      "notify",
      "policy",
      "remediate",
      "services",
      "sources",
      "store",
      "telemetry",
      "verify",
    ]);
    expect(schema.additionalProperties).toBe(false);
    expect(JSON.stringify(schema)).toContain('"rateLimit"');
  });

  it("check refuses headers allowed longer than the whole request, naming the key", async () => {
    await writeFile(
      join(folder, "timeouts.yaml"),
      "policy: { builtin: {} }\nlisten:\n  headersTimeout: 30s\n  requestTimeout: 10s\n  keepAliveTimeout: 310s\n",
    );
    const answer = await runInProcess(["check", "-c", "timeouts.yaml"], { cwd: folder });
    expect(answer.code).toBe(2);
    expect(answer.stderr).toContain("listen.headersTimeout: must not be longer than listen.requestTimeout");
    await writeFile(
      join(folder, "timeouts-ok.yaml"),
      "policy: { builtin: {} }\nlisten: { requestTimeout: 1m }\n",
    );
    expect((await runInProcess(["check", "-c", "timeouts-ok.yaml"], { cwd: folder })).code).toBe(0);
  });

  it("check exits 0 on a valid file and 2 with every problem on an invalid one", async () => {
    await writeFile(join(folder, "ok.yaml"), "policy:\n  builtin: {}\n");
    await writeFile(
      join(folder, "bad.yaml"),
      "policy:\n  builtin: { maxRollbacks: -1 }\nlisten: { prot: 1 }\n",
    );
    const ok = await runInProcess(["check", "--config", "ok.yaml"], { cwd: folder });
    expect(ok).toMatchObject({ code: 0, stdout: "ok.yaml: valid\n" });
    const bad = await runInProcess(["check", "-c", "bad.yaml"], { cwd: folder });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("bad.yaml:2:28 policy.builtin.maxRollbacks: expected number to be >=0");
    expect(bad.stderr).toContain('bad.yaml:3:11 listen.prot: unknown key "prot"');
    const missing = await runInProcess(["check"], { cwd: folder, env: { SELFHEAL_CONFIG: "nowhere.yaml" } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nowhere.yaml:1:1 cannot read: ENOENT");
  });
});

describe("the README", () => {
  it("embeds selfheal.example.yaml as it is", async () => {
    const readme = await readFile(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
    expect(readme).toContain(`\`\`\`yaml\n${await readFile(example, "utf8")}\`\`\``);
  });
});
