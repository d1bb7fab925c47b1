import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setContainerImage } from "@selfheal/gitops";
import { runGit } from "@selfheal/gitops/testing";

/** A work tree of the config repository from which the "release pipeline" pushes versions. */
export interface ReleasePipeline {
  /** Commit one release per version (in order) and push them to `main` in one push. */
  release(versions: readonly string[]): Promise<string>;
  /** Remove the work tree. */
  close(): Promise<void>;
}

const identity = {
  GIT_AUTHOR_NAME: "release pipeline",
  GIT_AUTHOR_EMAIL: "release@selfheal.invalid",
  GIT_COMMITTER_NAME: "release pipeline",
  GIT_COMMITTER_EMAIL: "release@selfheal.invalid",
};

/**
 * Clone the bare config repository (a local path: the pipeline pushes beside the git server,
 * like a CI job with its own credentials) so a fault can be injected the way it happens in
 * production: a bad release lands on `main`.
 */
export async function releasePipeline(settings: {
  readonly repoPath: string;
  readonly manifestPath: string;
  readonly service: string;
  readonly imageRepository: string;
}): Promise<ReleasePipeline> {
  const dir = await mkdtemp(join(tmpdir(), "selfheal-release-"));
  const git = (...args: string[]) => runGit(args, { cwd: dir, env: identity });
  await git("clone", "--quiet", "--branch", "main", settings.repoPath, ".");
  return {
    async release(versions) {
      await git("pull", "--quiet", "--ff-only", "origin", "main");
      for (const version of versions) {
        // A release changes the image and nothing else (the replicas stay as they are).
        const file = join(dir, settings.manifestPath);
        const image = `${settings.imageRepository}:${version}`;
        await writeFile(file, setContainerImage(await readFile(file, "utf8"), { image }).text);
        await git("commit", "--quiet", "--all", "--message", `Release ${settings.service} ${version}`);
      }
      await git("push", "--quiet", "origin", "HEAD:main");
      return (await git("rev-parse", "HEAD")).trim();
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
