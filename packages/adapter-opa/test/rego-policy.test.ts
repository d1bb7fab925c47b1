import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { corpusUrl, loadCorpus } from "./corpus.js";

const run = promisify(execFile);
const script = fileURLToPath(new URL("../scripts/generate-rego-tests.mjs", import.meta.url));
const testsUrl = new URL("../policies/selfheal_test.rego", import.meta.url);

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
      expect(jsonOfRegoTerm(literal)).toEqual(entry?.input);
      const settings = /with data\.selfheal\.config as (\{[\s\S]*?\n\t\t\})\n/.exec(block)?.[1];
      expect(settings === undefined ? undefined : jsonOfRegoTerm(settings)).toEqual(entry?.settings);
      expect(block).toContain(`d.action == ${JSON.stringify(entry?.expected.action)}`);
    });
    expect(names.size).toBe(blocks.length);
  });
});

/** The generated terms are JSON with the trailing commas `opa fmt` wants. */
function jsonOfRegoTerm(term: string | undefined): unknown {
  return JSON.parse((term ?? "null").replaceAll(/,(\n\s*[}\]])/g, "$1"));
}
