import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { CliIo } from "../src/index.js";
import { runCli } from "../src/index.js";

/** What an in-process run of `selfheal` printed and answered. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `selfheal args` in this process, with buffers for its output. */
export async function runInProcess(
  args: readonly string[],
  options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv; readonly stop?: AbortSignal },
): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    interactive: false,
    env: options.env ?? {},
    cwd: options.cwd,
    stop: options.stop ?? new AbortController().signal,
  };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

/** The built `selfheal` command (`pnpm run build` first). */
export const builtBin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));

/** A `selfheal` process started by {@link startRun}. */
export interface StartedRun {
  readonly child: ChildProcessWithoutNullStreams;
  /** What it printed so far. */
  readonly output: { stdout: string; stderr: string };
  /** Its exit code once it ends. */
  readonly exited: Promise<number | null>;
  /**
   * The first match of `pattern` in what the process prints on `stream`, as soon as it is printed.
   * Rejects (with its stderr) when the process ends without printing it; no clock of its own:
   * the test's timeout bounds the wait.
   */
  printed(pattern: RegExp, stream?: "stdout" | "stderr"): Promise<RegExpExecArray>;
  /** The URL it says it listens on. */
  listening(): Promise<string>;
}

/** Start the built `selfheal run` (or other `args`) in `cwd`, with PATH and `env` only. */
export function startRun(
  cwd: string,
  env: Record<string, string> = {},
  args: readonly string[] = ["run"],
): StartedRun {
  const child = spawn(process.execPath, [builtBin, ...args], {
    cwd,
    env: { PATH: process.env.PATH, ...env },
  });
  const output = { stdout: "", stderr: "" };
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout.on("data", (chunk: Buffer) => {
    output.stdout += chunk.toString();
    wake();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output.stderr += chunk.toString();
    wake();
  });
  let ended = false;
  const exited = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      ended = true;
      wake();
      resolve(code);
    }),
  );
  const printed = (pattern: RegExp, stream: "stdout" | "stderr" = "stdout") =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output[stream]);
        if (match !== null || ended) waiters.delete(check);
        if (match !== null) resolve(match);
        else if (ended)
          reject(new Error(`selfheal ${args.join(" ")} ended without printing ${pattern}: ${output.stderr}`));
      };
      waiters.add(check);
      check();
    });
  const listening = async () => (await printed(/listening on (http:\/\/\S+)/))[1] as string;
  return { child, output, exited, printed, listening };
}
