import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DecisionInput, DeploymentFacts } from "@selfheal/core";
import { describe, expect, it } from "vitest";
import { corpusUrl, loadCorpus } from "./corpus.js";
import {
  bracketProblems,
  inputPaths,
  stripRego,
  undefinedNames,
  unknownCalls,
  v1Problems,
} from "./rego-lint.js";

const run = promisify(execFile);
const script = fileURLToPath(new URL("../scripts/generate-rego-tests.mjs", import.meta.url));
const policyUrl = new URL("../policies/selfheal.rego", import.meta.url);
const testsUrl = new URL("../policies/selfheal_test.rego", import.meta.url);

/** OPA builtins the policies may call (names from OPA's builtin reference). */
const knownBuiltins = new Set([
  "concat",
  "count",
  "indexof",
  "is_boolean",
  "is_object",
  "is_string",
  "min",
  "object.get",
  "object.keys",
  "sprintf",
  "time.parse_rfc3339_ns",
]);

describe("selfheal_test.rego", () => {
  it("is up to date with the decision corpus", async () => {
    const { stdout } = await run(process.execPath, [script, "--check"]);
    expect(stdout).toContain("is up to date");
  });

  it("the check fails once the corpus changes", async () => {
    const folder = await mkdtemp(join(tmpdir(), "selfheal-corpus-"));
    try {
      const corpus = JSON.parse(await readFile(corpusUrl, "utf8")) as { cases: { name: string }[] };
      const first = corpus.cases[0];
      if (first !== undefined) first.name = `${first.name} renamed`;
      const changed = join(folder, "corpus.json");
      await writeFile(changed, JSON.stringify(corpus));
      const failure = await run(process.execPath, [script, "--check", "--corpus", changed]).then(
        () => undefined,
        (error: unknown) => error as { code: number; stderr: string },
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stderr).toContain("is out of date");
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  it("holds one test per corpus case, each with that case's input and expectations", async () => {
    const corpus = await loadCorpus();
    const source = await readFile(testsUrl, "utf8");
    const blocks = source.split("\n\n").filter((block) => /^test_/m.test(block));
    expect(blocks).toHaveLength(corpus.cases.length);
    const names = new Set<string>();
    blocks.forEach((block, index) => {
      const entry = corpus.cases[index];
      const name = /^(test_[a-z0-9_]+) if \{$/m.exec(block)?.[1];
      expect(name, block.slice(0, 80)).toBeDefined();
      names.add(name as string);
      const literal = /with input as (\{[\s\S]*?\n\t\})\n/.exec(block)?.[1];
      expect(JSON.parse(literal ?? "null")).toEqual(entry?.input);
      expect(block).toContain(`d.action == ${JSON.stringify(entry?.expected.action)}`);
    });
    expect(names.size).toBe(blocks.length);
  });
});

describe.each([
  ["selfheal.rego", policyUrl, "selfheal"],
  ["selfheal_test.rego", testsUrl, "selfheal_test"],
])("%s, checked without OPA", (_file, url, packageName) => {
  it("tokenizes: strings closed, brackets balanced", async () => {
    const { code } = stripRego(await readFile(url, "utf8"));
    expect(bracketProblems(code)).toEqual([]);
  });

  it("is OPA 1.x: package first, no future imports, every rule body after `if`", async () => {
    const { code } = stripRego(await readFile(url, "utf8"));
    expect(v1Problems(code, packageName)).toEqual([]);
  });

  it("calls only OPA builtins and its own functions; never http.send or the clock", async () => {
    const { code } = stripRego(await readFile(url, "utf8"));
    expect(unknownCalls(code, knownBuiltins)).toEqual([]);
    expect(undefinedNames(code, knownBuiltins)).toEqual([]);
    expect(code).not.toMatch(/http\.send|time\.now_ns/);
  });
});

describe("the Rego checks", () => {
  it("catch what they are for", () => {
    expect(() => stripRego('x := "open')).toThrow(/unterminated string/);
    expect(bracketProblems(stripRego("x := [1, {2]").code)).not.toEqual([]);
    const v0 = stripRego(
      "package p\n\nallow {\n\ttrue\n}\n\nx := 1 if {\n\ttrue\n} else := 2 {\n\ttrue\n}\n",
    );
    expect(v1Problems(v0.code, "p")).toEqual([
      "line 3: rule body without if",
      "line 7: else body without if",
    ]);
    expect(v1Problems(stripRego("package q\nimport future.keywords.if\n").code, "p")).toHaveLength(2);
    expect(
      unknownCalls(
        stripRego("package p\nf(x) := y if { y := sprintf(x, []); strings.bogus(x) }").code,
        knownBuiltins,
      ),
    ).toEqual(["strings.bogus"]);
  });
});

describe("selfheal.rego", () => {
  it("reads only fields the DecisionInput schema has", async () => {
    const { code } = stripRego(await readFile(policyUrl, "utf8"));
    const nested: Record<string, readonly string[]> = {
      alert: Object.keys(DecisionInput.shape.alert.shape),
      incident: Object.keys(DecisionInput.shape.incident.shape),
      deployment: Object.keys(DeploymentFacts.shape),
    };
    const paths = inputPaths(code);
    expect(paths.length).toBeGreaterThan(10);
    for (const [first, second] of paths) {
      expect(Object.keys(DecisionInput.shape), `input.${first}`).toContain(first);
      const known = first === undefined ? undefined : nested[first];
      if (known !== undefined && second !== undefined)
        expect(known, `input.${first}.${second}`).toContain(second);
    }
  });

  it("builds every decision with exactly action, params, reason and escalate", async () => {
    const source = await readFile(policyUrl, "utf8");
    const objects = [...source.matchAll(/\{\s*"action":[\s\S]*?"escalate":[^}]*\}/g)].map((m) => m[0]);
    expect(objects.length).toBeGreaterThanOrEqual(4);
    for (const object of objects) {
      const keys = [...object.matchAll(/"(\w+)":/g)]
        .map((m) => m[1])
        .filter((key) => key !== "image" && key !== "replicas");
      expect(keys.sort()).toEqual(["action", "escalate", "params", "reason"]);
    }
  });
});
