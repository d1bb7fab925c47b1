// Start the real OPA server with the shipped policy for the storm, on a free loopback port.
// (packages/adapter-opa is getting a test helper of its own; this small one keeps the bench
// independent of it until it lands.)
import { spawn } from "node:child_process";
import { access } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { freePort } from "@selfheal/adapter-prometheus/testing";

/** A running OPA: its base URL and how to stop it. */
export interface RunningOpa {
  readonly url: string;
  readonly binary: string;
  stop(): Promise<void>;
}

const defaultBinary = "/root/.cache/selfheal-tools/opa-1.22.4/opa";
const policyFile = fileURLToPath(
  new URL("../../../packages/adapter-opa/policies/selfheal.rego", import.meta.url),
);

/** Start `opa run --server` with selfheal.rego, or `undefined` when the binary is missing. */
export async function startOpa(
  binary = process.env.BENCH_OPA ?? defaultBinary,
): Promise<RunningOpa | undefined> {
  try {
    await access(binary);
  } catch {
    return undefined;
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    ["run", "--server", "--addr", `127.0.0.1:${port}`, "--log-level", "error", policyFile],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let errors = "";
  child.stderr.on("data", (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const early = await Promise.race([
      exited,
      new Promise((resolve) => setTimeout(() => resolve("wait"), 200)),
    ]);
    if (early !== "wait") throw new Error(`opa exited with ${String(early)} before it answered: ${errors}`);
    const health = await fetch(`${url}/health`).catch(() => undefined);
    if (health?.status === 200) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`opa at ${url} not healthy within 60 s: ${errors}`);
    }
  }
  return {
    url,
    binary,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
