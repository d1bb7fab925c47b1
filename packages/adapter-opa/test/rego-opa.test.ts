import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { opaGate, opaVersion, runOpa } from "../src/testing/index.js";
import { loadCorpus } from "./corpus.js";

// The shipped Rego run by the real OPA binary: `opa check --strict`, `opa fmt` and `opa test`.
const policies = fileURLToPath(new URL("../policies", import.meta.url));
const goTools = fileURLToPath(new URL("../../../scripts/go-tools.sh", import.meta.url));
const gate = await opaGate();

/** One entry of `opa test --format=json`. */
interface OpaTestResult {
  readonly name: string;
  readonly package: string;
  readonly fail?: boolean;
  readonly error?: unknown;
  readonly skip?: boolean;
}

function parseResults(stdout: string): OpaTestResult[] {
  return JSON.parse(stdout) as OpaTestResult[];
}

it("scripts/go-tools.sh builds the OPA version the tests look for", async () => {
  const script = await readFile(goTools, "utf8");
  expect(script).toContain(
    `"opa|${opaVersion}|github.com/open-policy-agent/opa|v${opaVersion}|.|opa|install"`,
  );
});

describe.skipIf(gate.skip)(
  `the shipped Rego under OPA ${opaVersion}${gate.skip ? ` (${gate.why})` : ""}`,
  () => {
    it("opa check --strict finds nothing", async () => {
      const result = await runOpa(["check", "--strict", policies]);
      expect(result.stderr + result.stdout).toBe("");
      expect(result.code).toBe(0);
    });

    it("opa fmt --list finds nothing to reformat (the generated tests included)", async () => {
      const result = await runOpa(["fmt", "--list", "--fail", policies]);
      expect(result.stdout).toBe("");
      expect(result.code).toBe(0);
    });

    it("opa test passes one test per corpus case, none failing or skipped", async () => {
      const corpus = await loadCorpus();
      const result = await runOpa(["test", "--format=json", policies]);
      const results = parseResults(result.stdout);
      const bad = results.filter((entry) => entry.fail === true || entry.error !== undefined || entry.skip);
      expect(bad.map((entry) => entry.name)).toEqual([]);
      expect(result.code).toBe(0);
      expect(results.filter((entry) => entry.package === "data.selfheal_test")).toHaveLength(
        corpus.cases.length,
      );
    });

    describe("when the policy is wrong", () => {
      let folder: string;
      beforeAll(async () => {
        folder = await mkdtemp(join(tmpdir(), "selfheal-rego-"));
        const policy = await readFile(join(policies, "selfheal.rego"), "utf8");
        // The rollback threshold moved from 0.05 to 0.5: every rollback case must now fail.
        const broken = policy.replace('\t"errorRateThreshold": 0.05,', '\t"errorRateThreshold": 0.5,');
        expect(broken).not.toBe(policy);
        await writeFile(join(folder, "selfheal.rego"), broken);
        await copyFile(join(policies, "selfheal_test.rego"), join(folder, "selfheal_test.rego"));
      });
      afterAll(async () => {
        await rm(folder, { recursive: true, force: true });
      });

      it("opa test fails, naming the cases", async () => {
        const result = await runOpa(["test", "--format=json", folder]);
        expect(result.code).not.toBe(0);
        const failed = parseResults(result.stdout)
          .filter((entry) => entry.fail === true)
          .map((entry) => entry.name);
        expect(failed).toContain("test_rollback_to_the_known_previous_image");
      });
    });
  },
);
