import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hermeticGitEnvironment } from "./git-command.js";

/** A commit as read from a bare repository. */
export interface BareCommit {
  /** The SHA of its tree. */
  readonly tree: string;
  /** The SHAs of its parents, in order: none for a root commit. */
  readonly parents: readonly string[];
  /** The message, byte for byte (with its trailing newline, if any). */
  readonly message: string;
  /** Committer time, ISO 8601. */
  readonly time: string;
}

/**
 * Synchronous access to a bare git repository (the one a test git server serves), for forge
 * stand-ins whose API reads and writes must land in the repository that git pushes reach.
 * Stand-in handlers answer synchronously, so this runs `git` with `execFileSync`: a few
 * milliseconds per call, while the remediator under test waits for the answer anyway.
 */
export interface BareRepo {
  /** The folder of the bare repository. */
  readonly path: string;
  /** The commit `ref` (`heads/main`, below `refs/`) points at, if it exists. */
  ref(ref: string): string | undefined;
  /** Point `ref` (below `refs/`) at `sha`. */
  setRef(ref: string, sha: string): void;
  /** Every ref below `refs/<prefix>`, full name → SHA. */
  refs(prefix: string): Map<string, string>;
  /** The commit `sha`, or `undefined` when `sha` is not a commit of this repository. */
  commit(sha: string): BareCommit | undefined;
  /** The files of a tree, recursively: path → blob SHA; `undefined` when `tree` is not a tree. */
  files(tree: string): Map<string, string> | undefined;
  /** The content of blob `sha` (UTF-8), or `undefined` when `sha` is not a blob. */
  blob(sha: string): string | undefined;
  /** Store `content` as a blob; its SHA. */
  writeBlob(content: string): string;
  /** A tree of regular files from path → blob SHA. */
  writeTree(files: ReadonlyMap<string, string>): string;
  /**
   * Store a commit of `tree` on `parents`, authored and committed by "stand-in" at `time`
   * (ISO 8601, to the second) with `message` byte for byte; its SHA. No ref moves.
   */
  writeCommit(tree: string, parents: readonly string[], message: string, time: string): string;
  /** Whether `ancestor` is `descendant` or one of its ancestors. */
  isAncestor(ancestor: string, descendant: string): boolean;
  /** The last commit at or before `sha` that changed `path`. */
  lastCommitOf(sha: string, path: string): string | undefined;
}

/**
 * A {@link BareRepo} on the existing bare repository at `path` (e.g. the `path` that
 * `GitHttpServer.createRepo` returns). Nothing is read until a method is called.
 */
export function openBareRepo(path: string): BareRepo {
  // Like the test git server: nothing from the user's or the system's git configuration.
  const environment = hermeticGitEnvironment();
  const git = (args: readonly string[], input = "", extra: Record<string, string> = {}): string =>
    execFileSync("git", ["--git-dir", path, ...args], {
      input,
      encoding: "utf8",
      env: { ...environment, ...extra },
      stdio: ["pipe", "pipe", "pipe"],
    });
  const attempt = (args: readonly string[]): string | undefined => {
    try {
      return git(args);
    } catch {
      return undefined;
    }
  };
  const isSha = (value: string) => /^[0-9a-f]{40}$/.test(value);
  const typeOf = (sha: string) => (isSha(sha) ? attempt(["cat-file", "-t", sha])?.trim() : undefined);

  return {
    path,
    ref: (ref) => attempt(["rev-parse", "--verify", "--quiet", `refs/${ref}^{commit}`])?.trim() || undefined,
    setRef(ref, sha) {
      git(["update-ref", `refs/${ref}`, sha]);
    },
    refs(prefix) {
      const listing = git(["for-each-ref", "--format=%(refname) %(objectname)", `refs/${prefix}`]);
      return new Map(
        listing
          .split("\n")
          .filter((line) => line !== "")
          .map((line) => line.split(" ") as [string, string]),
      );
    },
    commit(sha) {
      if (typeOf(sha) !== "commit") return undefined;
      const raw = git(["cat-file", "commit", sha]);
      const split = raw.indexOf("\n\n");
      const headers = raw.slice(0, split).split("\n");
      const value = (name: string) =>
        headers.filter((line) => line.startsWith(`${name} `)).map((line) => line.slice(name.length + 1));
      const seconds = Number(value("committer")[0]?.split(" ").at(-2) ?? 0);
      return {
        tree: value("tree")[0] ?? "",
        parents: value("parent"),
        message: raw.slice(split + 2),
        time: new Date(seconds * 1000).toISOString(),
      };
    },
    files(tree) {
      if (typeOf(tree) !== "tree") return undefined;
      const listing = git(["ls-tree", "-r", "-z", tree]);
      return new Map(
        listing
          .split("\0")
          .filter((entry) => entry !== "")
          .map((entry) => {
            const [meta = "", file = ""] = entry.split("\t");
            return [file, meta.split(" ")[2] ?? ""] as const;
          }),
      );
    },
    blob: (sha) => (typeOf(sha) === "blob" ? git(["cat-file", "blob", sha]) : undefined),
    writeBlob: (content) => git(["hash-object", "-w", "--stdin"], content).trim(),
    writeTree(files) {
      const folder = mkdtempSync(join(tmpdir(), "selfheal-stand-in-index-"));
      try {
        const index = { GIT_INDEX_FILE: join(folder, "index") };
        const info = [...files].map(([file, blob]) => `100644 blob ${blob}\t${file}\n`).join("");
        git(["update-index", "--add", "--index-info"], info, index);
        return git(["write-tree"], "", index).trim();
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    },
    writeCommit(tree, parents, message, time) {
      const date = `${Math.floor(Date.parse(time) / 1000)} +0000`;
      const identity = {
        GIT_AUTHOR_NAME: "stand-in",
        GIT_AUTHOR_EMAIL: "stand-in@selfheal.invalid",
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_NAME: "stand-in",
        GIT_COMMITTER_EMAIL: "stand-in@selfheal.invalid",
        GIT_COMMITTER_DATE: date,
      };
      // The message comes on stdin, byte for byte: commit-tree does no clean-up of it.
      const parentArgs = parents.flatMap((parent) => ["-p", parent]);
      return git(["commit-tree", tree, ...parentArgs], message, identity).trim();
    },
    isAncestor: (ancestor, descendant) =>
      attempt(["merge-base", "--is-ancestor", ancestor, descendant]) !== undefined,
    lastCommitOf: (sha, file) => attempt(["rev-list", "-1", sha, "--", file])?.trim() || undefined,
  };
}

/**
 * A `Map` whose `get`, `has` and `set` go to a bare repository: lets handlers written for an
 * in-memory model read and write real git objects. Iterating it sees nothing.
 */
export class BareRepoMap<V> extends Map<string, V> {
  /**
   * @param read Answers `get` and `has`: the value stored under `key`, or `undefined`.
   * @param write Answers `set`.
   * @default write does nothing (a read-only view)
   */
  constructor(
    private readonly read: (key: string) => V | undefined,
    private readonly write: (key: string, value: V) => void = () => undefined,
  ) {
    super();
  }

  /** The value `read` finds under `key`. */
  override get(key: string): V | undefined {
    return this.read(key);
  }

  /** Whether `read` finds a value under `key`. */
  override has(key: string): boolean {
    return this.read(key) !== undefined;
  }

  /** Hands `key` and `value` to `write`. */
  override set(key: string, value: V): this {
    this.write(key, value);
    return this;
  }
}
