import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const demo = fileURLToPath(new URL("../dist/demo.js", import.meta.url));

// `pnpm test` builds before it runs the tests, so the demo is run as users run it.
it("the local demo resolves its incident and prints the MTTR", async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [demo], { timeout: 30_000 });
  expect(stdout).toMatch(/decision: rollback: error rate 0.3 > 0.05/);
  expect(stdout).toMatch(/resolved: checkout-higherrorrate-[0-9a-f]+, MTTR [\d.]+ s/);
  expect(stdout).toContain("image now registry.example.com/checkout:v1.1.0");
});
