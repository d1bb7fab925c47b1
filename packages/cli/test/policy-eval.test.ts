import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { opaGate, shippedPolicyFile, startOpa } from "@selfheal/adapter-opa/testing";
import { decideBuiltin } from "@selfheal/core";
import { makeDecisionInput } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "./cli-harness.js";

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "selfheal-cli-policy-"));
  await writeFile(join(folder, "input.json"), JSON.stringify(makeDecisionInput()));
  await writeFile(join(folder, "default.yaml"), "policy: { builtin: {} }\n");
  await writeFile(join(folder, "strict.yaml"), "policy: { builtin: { errorRateThreshold: 0.5 } }\n");
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("selfheal policy eval", () => {
  it("prints the configured policy's decision on an input", async () => {
    const answer = await runInProcess(
      ["policy", "eval", "-c", "default.yaml", "--input", "input.json", "--json"],
      {
        cwd: folder,
      },
    );
    expect(answer.code).toBe(0);
    expect(JSON.parse(answer.stdout)).toEqual({
      policy: "builtin",
      decision: {
        action: "rollback",
        params: { image: "registry.example.com/checkout:v1.1.0" },
        reason: expect.stringContaining("error rate 0.3 > 0.05"),
        escalate: false,
      },
    });
  });

  it("uses the policy's settings from the config", async () => {
    const answer = await runInProcess(["policy", "eval", "-c", "strict.yaml", "-i", "input.json"], {
      cwd: folder,
    });
    expect(answer.code).toBe(0);
    expect(answer.stdout).toContain("action: none\n");
    expect(answer.stdout).toContain("threshold 0.5");
  });

  it("takes restartThreshold false: no restart count needed to roll back", async () => {
    const { restart_count: _restarts, ...metrics } = makeDecisionInput().metrics;
    await writeFile(join(folder, "no-restarts.json"), JSON.stringify(makeDecisionInput({ metrics })));
    await writeFile(join(folder, "degrading.yaml"), "policy: { builtin: { restartThreshold: false } }\n");
    const answer = await runInProcess(["policy", "eval", "-c", "degrading.yaml", "-i", "no-restarts.json"], {
      cwd: folder,
    });
    expect(answer.code, answer.stderr).toBe(0);
    expect(answer.stdout).toContain("action: rollback\n");
    expect(answer.stdout).toMatch(/reason: error rate [\d.]+ > 0\.05: roll back/);
  });

  it("answers 2 without --input, on a file that is not a decision input, and without eval", async () => {
    await writeFile(join(folder, "bad.json"), JSON.stringify({ service: "" }));
    const missing = await runInProcess(["policy", "eval", "-c", "default.yaml"], { cwd: folder });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--input FILE is required");
    const bad = await runInProcess(["policy", "eval", "-c", "default.yaml", "-i", "bad.json"], {
      cwd: folder,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.json: not a decision input:\n {2}alert: /);
    expect((await runInProcess(["policy", "-i", "input.json"], { cwd: folder })).code).toBe(2);
  });
});

const gate = await opaGate();

// `selfheal policy eval` evaluates the Rego through an OPA server (config `policy.opa`), here a
// real one serving the shipped policy behind token authentication, with settings in its data.
describe.skipIf(gate.skip)(`selfheal policy eval with a real OPA${gate.skip ? ` (${gate.why})` : ""}`, () => {
  it("asks the configured OPA, with its path and token, and prints the Rego's decision", async () => {
    const authz =
      'package system.authz\n\ndefault allow := false\n\nallow if input.identity == "opa-secret"\n';
    const settings = { errorRateThreshold: 0.2 };
    const opa = await startOpa({
      files: [shippedPolicyFile],
      policies: { "authz.rego": authz },
      data: { selfheal: { config: settings } },
      args: ["--authentication=token", "--authorization=basic"],
    });
    try {
      await writeFile(
        join(folder, "opa.yaml"),
        `policy:\n  opa:\n    url: ${opa.url}\n    path: selfheal/decision\n    token: \${OPA_TOKEN}\n`,
      );
      const answer = await runInProcess(["policy", "eval", "-c", "opa.yaml", "-i", "input.json", "--json"], {
        cwd: folder,
        env: { OPA_TOKEN: "opa-secret" },
      });
      expect(answer.code, answer.stderr).toBe(0);
      expect(JSON.parse(answer.stdout)).toEqual({
        policy: "opa:selfheal/decision",
        decision: decideBuiltin(makeDecisionInput(), settings),
      });
      const refused = await runInProcess(["policy", "eval", "-c", "opa.yaml", "-i", "input.json"], {
        cwd: folder,
        env: { OPA_TOKEN: "wrong-secret" },
      });
      expect(refused.stdout).toContain("action: none\n");
      expect(refused.stdout).toContain("escalate: true\n");
      expect(refused.stdout).toContain("HTTP 401 unauthorized");
      expect(refused.stdout).not.toContain("wrong-secret");
    } finally {
      await opa.stop();
    }
  });
});
