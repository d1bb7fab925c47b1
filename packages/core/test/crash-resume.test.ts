import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { fileStore } from "../src/index.js";
import { tempDir } from "./helpers.js";

const child = fileURLToPath(new URL("./fixtures/crash-child.mjs", import.meta.url));

/** Start the child controller; resolve with its output once it printed `until` (or exited). */
function runChild(
  env: Record<string, string>,
  until: string,
): Promise<{ output: string; kill: () => Promise<void>; exited: Promise<number | null> }> {
  const process_ = spawn(process.execPath, [child], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let errors = "";
  const exited = new Promise<number | null>((resolve) => process_.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`child did not print ${until}: ${output} ${errors}`)),
      20_000,
    );
    process_.stderr.on("data", (chunk: Buffer) => {
      errors += chunk.toString();
    });
    process_.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(until)) {
        clearTimeout(timer);
        resolve({
          output,
          exited,
          kill: async () => {
            process_.kill("SIGKILL");
            await exited;
          },
        });
      }
    });
    exited.then((code) => {
      if (!output.includes(until)) {
        clearTimeout(timer);
        reject(new Error(`child exited ${code} before printing ${until}: ${output} ${errors}`));
      }
    });
  });
}

describe("a controller killed with SIGKILL resumes without repeating a side effect", () => {
  for (const [mode, marker, reused] of [
    ["hang-in-verify", "VERIFYING", false],
    ["hang-in-apply", "APPLIED", true],
  ] as const) {
    it(`killed ${mode === "hang-in-verify" ? "after the action completed, during verification" : "between the side effect and its recorded completion"}`, async () => {
      const { dir, cleanup } = await tempDir();
      try {
        const env = { STATE_DIR: join(dir, "state"), SIDE_EFFECTS: join(dir, "side-effects.txt") };
        const first = await runChild({ ...env, MODE: mode }, marker);
        await first.kill();

        const second = await runChild({ ...env, MODE: "finish" }, "RESOLVED");
        expect(await second.exited).toBe(0);
        expect(second.output).toContain("RESOLVED resolved");

        const lines = (await readFile(env.SIDE_EFFECTS, "utf8")).split("\n").filter(Boolean);
        expect(lines).toHaveLength(1);
        const store = fileStore(env.STATE_DIR);
        try {
          const started = await store.listEvents({ types: ["remediation.started"] });
          const completed = await store.listEvents({ types: ["remediation.completed"] });
          expect(started).toHaveLength(1);
          expect(completed).toHaveLength(1);
          expect(completed[0]?.data?.result).toMatchObject({ reused });
          expect(await store.listEvents({ types: ["controller.resumed"] })).toHaveLength(1);
        } finally {
          await store.close();
        }
      } finally {
        await cleanup();
      }
      // Two child controllers start one after the other: give a loaded machine room.
    }, 60_000);
  }
});
