import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type CliIo, exitCodes } from "./cli-io.js";

/** Where the repository's built demo is: above the working folder, or above this package. */
function findDemo(cwd: string): string | undefined {
  const starts = [cwd, dirname(fileURLToPath(import.meta.url))];
  for (const start of starts) {
    let folder = resolve(start);
    for (;;) {
      const candidate = join(folder, "examples", "dist", "demo.js");
      if (existsSync(candidate)) return candidate;
      const parent = dirname(folder);
      if (parent === folder) break;
      folder = parent;
    }
  }
  return undefined;
}

/** `selfheal demo`: run the repository's local closed-loop demo, or say how to get it. */
export async function demoCommand(args: readonly string[], io: CliIo): Promise<number> {
  parseArgs({ args: [...args], options: {}, strict: true, allowPositionals: false });
  const demo = findDemo(io.cwd);
  if (demo === undefined) {
    io.stderr(
      "The local demo is part of the selfheal repository and is not built here.\n" +
        "Run it from a checkout: git clone the repository, then at its root run `pnpm install` and `pnpm demo`\n" +
        "(it builds the packages and runs examples/dist/demo.js).\n",
    );
    return exitCodes.failure;
  }
  io.stderr(`running ${demo}\n`);
  const child = spawn(process.execPath, [demo], {
    cwd: dirname(dirname(dirname(demo))),
    env: io.env,
    stdio: "pipe",
  });
  child.stdout.on("data", (chunk: Buffer) => io.stdout(chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => io.stderr(chunk.toString()));
  const stop = () => child.kill("SIGTERM");
  io.stop.addEventListener("abort", stop, { once: true });
  const code = await new Promise<number | null>((done, fail) => {
    child.once("error", fail);
    child.once("close", (exitCode) => done(exitCode));
  });
  io.stop.removeEventListener("abort", stop);
  return code === 0 ? exitCodes.ok : exitCodes.failure;
}
