// scripts/check-snippets.mjs (run by `pnpm lint`) type-checks every ```ts block of the docs.
// Here it is shown a document with a wrong block: it must fail and say where, and skip a
// block marked `fragment`.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterEach, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../../..");
const script = join(root, "scripts", "check-snippets.mjs");
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function check(markdown: string): Promise<{ code: number; output: string; doc: string }> {
  await mkdir(join(root, "tmp"), { recursive: true }); // git-ignored
  const dir = await mkdtemp(join(root, "tmp", "snippet-test-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const doc = join(dir, "guide.md");
  await writeFile(doc, markdown);
  return promisify(execFile)(process.execPath, [script, doc], { cwd: root }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr, doc }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      output: error.stdout + error.stderr,
      doc,
    }),
  );
}

it("fails on a snippet that does not compile, naming the document and line", async () => {
  const { code, output } = await check(
    [
      "# Guide", // 1
      "", // 2
      "```ts", // 3
      'import { verdict } from "@selfheal/core";', // 4
      'export const ok = verdict("probe", "passed", "fine");', // 5
      "```", // 6
      "", // 7
      "```ts fragment", // 8
      "createController({ ... });", // 9: skipped
      "```", // 10
      "", // 11
      "```ts", // 12
      'import { verdict } from "@selfheal/core";', // 13
      'export const wrong = verdict("probe", "maybe", "unsure");', // 14
      "```", // 15
      "",
    ].join("\n"),
  );
  expect(code).toBe(1);
  expect(output).toMatch(/guide\.md:14:\d+ error TS2345/);
  expect(output).not.toMatch(/guide\.md:9:/);
});

it("passes a document whose snippets compile, blocks importing each other by file name", async () => {
  const { code, output } = await check(
    [
      "```ts file=probe.ts",
      'import { verdict } from "@selfheal/core";',
      'export const probe = () => verdict("probe", "passed", "fine");',
      "```",
      "",
      "```ts",
      'import { probe } from "./probe.js";',
      'export const outcome: "passed" | "failed" = probe().outcome;',
      "```",
      "",
    ].join("\n"),
  );
  expect({ code, output }).toEqual({
    code: 0,
    output: "snippets: 2 TypeScript snippets in 1 docs type-check\n",
  });
});
