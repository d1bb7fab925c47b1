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
