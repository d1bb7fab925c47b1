import type { CliIo } from "./cli-io.js";

/** One step of a long operation on standard error. */
export interface ProgressStep {
  done(detail?: string): void;
  fail(detail?: string): void;
}

const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Progress on standard error, never standard output (which `--json` keeps for the result). A
 * terminal gets a spinner on one line; a pipe or a log gets one line per finished step.
 */
export function progress(io: CliIo, enabled = true): { step(label: string): ProgressStep } {
  return {
    step(label) {
      const started = Date.now();
      let frame = 0;
      const timer =
        enabled && io.interactive
          ? setInterval(() => io.stderr(`\r${frames[frame++ % frames.length]} ${label}`), 100)
          : undefined;
      timer?.unref();
      const finish = (mark: string, detail: string | undefined) => {
        if (timer !== undefined) clearInterval(timer);
        if (!enabled) return;
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        const line = `${mark} ${label}${detail === undefined ? "" : `: ${detail}`} (${seconds}s)`;
        io.stderr(io.interactive ? `\r\x1b[2K${line}\n` : `${line}\n`);
      };
      return { done: (detail) => finish("✓", detail), fail: (detail) => finish("✗", detail) };
    },
  };
}
