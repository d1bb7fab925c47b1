// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config files, whose ${VAR} is the feature under test
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../src/index.js";
import { configSecrets } from "../src/wire/config-secrets.js";
import { wireController } from "../src/wire/wire-controller.js";
import { runInProcess } from "./cli-harness.js";

/** A token with no recognisable shape: only the configured-secrets redaction can hide it. */
const gitToken = "Qm9vdHN0cmFwU2VjcmV0";

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "selfheal-secrets-"));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

const credentialsInUrl = [
  "policy:",
  "  builtin: {}",
  "remediate:",
  "  gitops:",
  "    repo:",
  "      url: https://selfheal:${GIT_TOKEN}@git.example.com/config.git",
  "",
].join("\n");

describe("credentials in remediate.gitops.repo.url", () => {
  it("are refused by check and run, at the key's own line, pointing at token, never echoed", async () => {
    await writeFile(join(folder, "creds.yaml"), credentialsInUrl);
    for (const command of ["check", "run"]) {
      const result = await runInProcess([command, "-c", "creds.yaml"], {
        cwd: folder,
        env: { GIT_TOKEN: gitToken },
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        "creds.yaml:6:12 remediate.gitops.repo.url: must not carry credentials (user:token@): put the token in remediate.gitops.repo.token",
      );
      expect(`${result.stdout}${result.stderr}`).not.toContain(gitToken);
    }
  });

  it("are accepted once moved to repo.token", async () => {
    const text = credentialsInUrl.replace(
      "url: https://selfheal:${GIT_TOKEN}@git.example.com/config.git",
      'url: https://git.example.com/config.git\n      token: "${GIT_TOKEN}"',
    );
    await writeFile(join(folder, "token.yaml"), text);
    const result = await runInProcess(["check", "-c", "token.yaml"], {
      cwd: folder,
      env: { GIT_TOKEN: gitToken },
    });
    expect(result).toMatchObject({ code: 0, stdout: "token.yaml: valid\n" });
  });
});

describe("configSecrets", () => {
  const env = {
    AM_TOKEN: "am-bearer-token-1",
    OPA_TOKEN: "opa-bearer-token-2",
    GIT_TOKEN: gitToken,
    GITLAB_TOKEN: "glpat-0123456789abcdefghij",
    ARGOCD_TOKEN: "argocd-token-3",
    PG_URL: "postgres://selfheal:pg-pass%40word@127.0.0.1:5432/selfheal",
    SLACK_URL: "https://hooks.slack.com/services/T0/B0/slack-secret-path",
    HOOK_URL: "https://hooks.example.com/notify",
    HOOK_HEADER: "X-Key hook-header-secret",
    SILENCE_TOKEN: "silence-token-4",
  };
  const text = [
    "sources:",
    "  alertmanager: { bearerToken: '${AM_TOKEN}' }",
    "policy:",
    "  opa: { url: 'http://127.0.0.1:8181', path: selfheal/decision, token: '${OPA_TOKEN}' }",
    "remediate:",
    "  gitops:",
    "    repo: { url: 'https://git.example.com/config.git', token: '${GIT_TOKEN}' }",
    "    forge:",
    "      gitlab: { url: 'https://gitlab.example.com', project: 1, token: '${GITLAB_TOKEN}' }",
    "verify:",
    "  argocd: { url: 'https://argocd.example.com', token: '${ARGOCD_TOKEN}', app: '{service}' }",
    "store:",
    "  postgres: { connectionString: '${PG_URL}' }",
    "notify:",
    "  slack: { url: '${SLACK_URL}' }",
    "  webhook: { url: '${HOOK_URL}', headers: { authorization: '${HOOK_HEADER}' } }",
    "hooks:",
    "  alertmanagerSilence: { url: 'http://127.0.0.1:9093', bearerToken: '${SILENCE_TOKEN}' }",
    "",
  ].join("\n");

  it("finds every credential of the config, and the password inside a connection string", () => {
    const secrets = configSecrets(parseConfig(text, "selfheal.yaml", { env }));
    for (const [name, value] of Object.entries(env)) {
      expect(secrets, name).toContain(value);
    }
    expect(secrets).toContain("pg-pass@word");
    // Nothing that is not a credential: a URL of a server, a path, a name.
    expect(secrets).not.toContain("http://127.0.0.1:8181");
    expect(secrets).not.toContain("https://git.example.com/config.git");
  });

  it("reach the controller settings through the wiring", async () => {
    const config = parseConfig(
      ["policy:", "  builtin: {}", "sources:", "  alertmanager: { bearerToken: '${AM_TOKEN}' }", ""].join(
        "\n",
      ),
      "selfheal.yaml",
      { env },
    );
    const wired = await wireController(config, { baseDir: folder, sideEffects: false });
    try {
      expect(wired.settings.secrets).toEqual([env.AM_TOKEN]);
    } finally {
      await wired.close();
      await wired.settings.store?.close();
    }
  });
});
