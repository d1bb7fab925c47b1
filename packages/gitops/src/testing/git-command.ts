import { execFile } from "node:child_process";
import { devNull } from "node:os";

/** Commit dates start here and advance one minute per commit, so hashes are stable. */
const firstCommitSeconds = Date.UTC(2026, 0, 1) / 1000;

/**
 * The environment every git process of the test server gets: PATH and nothing else
 * inherited. Inheriting GIT_DIR and friends (set when tests run from a git hook) or the
 * user's ~/.gitconfig would make the server depend on where it runs.
 */
export function hermeticGitEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const environment: Record<string, string> = {
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: devNull,
    GIT_TERMINAL_PROMPT: "0",
    ...extra,
  };
  if (process.env.PATH !== undefined) environment.PATH = process.env.PATH;
  return environment;
}

/** Author and committer for commit number `index` (0-based) with a fixed date. */
export function commitIdentity(index: number): Record<string, string> {
  const date = `${firstCommitSeconds + index * 60} +0000`;
  return {
    GIT_AUTHOR_NAME: "selfheal test",
    GIT_AUTHOR_EMAIL: "test@selfheal.invalid",
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_NAME: "selfheal test",
    GIT_COMMITTER_EMAIL: "test@selfheal.invalid",
    GIT_COMMITTER_DATE: date,
  };
}

/** Runs `git` without a shell; rejects with git's stderr in the message. */
export function runGit(
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      "git",
      args,
      { cwd: options.cwd, env: hermeticGitEnvironment(options.env), encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error === null) resolve(stdout);
        else
          reject(
            new Error(`git ${args.join(" ")} failed: ${stderr.trim() || error.message}`, { cause: error }),
          );
      },
    );
  });
}
