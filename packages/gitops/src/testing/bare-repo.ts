import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, normalize, sep } from "node:path";
import { commitIdentity, runGit } from "./git-command.js";

/** One commit to build: its message and the files it writes (path → content). */
export interface RepoCommit {
  /** The commit message. */
  message: string;
  /** Files written (created or overwritten) by this commit, by path relative to the repo root. */
  files: Record<string, string>;
}

/** Options of `GitHttpServer.createRepo`. */
export interface CreateRepoOptions {
  /**
   * The branch that HEAD names and the commits land on.
   * @default "main"
   */
  branch?: string;
  /** Commits made after the initial one, in order. */
  commits?: RepoCommit[];
}

/**
 * Creates `<root>/<name>.git`, bare and pushable over HTTP, with HEAD on `branch`, and
 * fills it with `commits` built by the git CLI in a throwaway work tree. Returns its path.
 */
export async function createBareRepo(
  root: string,
  name: string,
  commits: readonly RepoCommit[],
  branch: string,
): Promise<string> {
  const path = join(root, `${checkRepoName(name)}.git`);
  await mkdir(dirname(path), { recursive: true });
  await runGit(["-c", `init.defaultBranch=${branch}`, "init", "--quiet", "--bare", path]);
  await runGit(["--git-dir", path, "config", "http.receivepack", "true"]);
  // Like a protected branch on a forge: a forced push is refused by the server, not only by the
  // client, so a test can prove that a remediator never force-pushes.
  await runGit(["--git-dir", path, "config", "receive.denyNonFastForwards", "true"]);
  if (commits.length > 0) await pushCommits(path, commits, branch);
  return path;
}

async function pushCommits(barePath: string, commits: readonly RepoCommit[], branch: string): Promise<void> {
  const workTree = await mkdtemp(join(tmpdir(), "selfheal-git-work-"));
  try {
    await runGit(["-c", `init.defaultBranch=${branch}`, "init", "--quiet", workTree]);
    for (const [index, commit] of commits.entries()) {
      for (const [file, content] of Object.entries(commit.files)) {
        const target = join(workTree, checkRelativePath(file));
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, content);
      }
      await runGit(["add", "--all"], { cwd: workTree });
      // No automatic gc: with many files it runs detached and writes into .git while the work
      // tree is being removed below (ENOTEMPTY).
      await runGit(["-c", "gc.auto=0", "commit", "--quiet", "--allow-empty", "--message", commit.message], {
        cwd: workTree,
        env: commitIdentity(index),
      });
    }
    await runGit(["push", "--quiet", barePath, `HEAD:refs/heads/${branch}`], { cwd: workTree });
  } finally {
    await rm(workTree, { recursive: true, force: true });
  }
}

function checkRepoName(name: string): string {
  const relative = checkRelativePath(name);
  if (relative.endsWith(".git")) throw new Error(`repo name ${JSON.stringify(name)} must not end in .git`);
  return relative;
}

/** Rejects paths that would leave the folder they are joined to. */
function checkRelativePath(path: string): string {
  const normalized = normalize(path);
  if (
    path === "" ||
    isAbsolute(path) ||
    normalized === "." ||
    normalized === ".." ||
    normalized.startsWith(`..${sep}`)
  ) {
    throw new Error(`path ${JSON.stringify(path)} must be relative and stay inside its folder`);
  }
  return normalized;
}
