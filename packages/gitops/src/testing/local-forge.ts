import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { type ChangeRequest, ForgeError, type GitForge, type OpenChangeRequest } from "@selfheal/core";
import { runGit } from "./git-command.js";

/** A change request as {@link localForge} keeps it. */
interface Stored {
  id: string;
  branch: string;
  base: string;
  title: string;
  body: string;
  labels: string[];
  comments: string[];
  state: ChangeRequest["state"];
  mergeSha?: string;
  autoMerge: boolean;
  updatedAt: number;
}

/** A forge whose change requests live in memory and merge with real git on a bare repo. */
export interface LocalForge extends GitForge {
  /** Every change request opened, oldest first. */
  readonly requests: readonly Readonly<Stored>[];
  /** Calls made, by method name, for idempotency checks. */
  readonly calls: Readonly<Record<string, number>>;
  /** Make the next call of `method` fail (a crash between two steps). */
  failNext(method: keyof GitForge, error?: Error): void;
}

/**
 * A forge for tests and the local demo, over a bare repository on disk (the one the test git
 * server serves): change requests are kept in memory, merges are real `git merge` commits on
 * the bare repo, so the GitOps engine sees them like a merged pull request.
 */
export function localForge(options: {
  readonly repoPath: string;
  readonly webUrl: string;
  /**
   * Keep the change requests in this JSON file instead of memory, so several processes (the
   * replicas of a take-over test) see the same forge.
   */
  readonly stateFile?: string;
}): LocalForge {
  const requests: Stored[] = [];
  const load = () => {
    if (options.stateFile === undefined || !existsSync(options.stateFile)) return;
    requests.splice(0, requests.length, ...(JSON.parse(readFileSync(options.stateFile, "utf8")) as Stored[]));
  };
  const save = () => {
    if (options.stateFile === undefined) return;
    const temporary = `${options.stateFile}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(requests));
    renameSync(temporary, options.stateFile);
  };
  const calls: Record<string, number> = {};
  const failures = new Map<string, Error>();
  const count = (method: string) => {
    load();
    calls[method] = (calls[method] ?? 0) + 1;
    const failure = failures.get(method);
    if (failure !== undefined) {
      failures.delete(method);
      throw failure;
    }
  };
  const find = (id: string): Stored => {
    const found = requests.find((request) => request.id === id);
    if (found === undefined) {
      throw new ForgeError(`change request ${id} not found`, {
        kind: "not_found",
        adapter: "local",
        operation: "get",
      });
    }
    return found;
  };
  const identity = {
    GIT_AUTHOR_NAME: "local forge",
    GIT_AUTHOR_EMAIL: "forge@selfheal.invalid",
    GIT_COMMITTER_NAME: "local forge",
    GIT_COMMITTER_EMAIL: "forge@selfheal.invalid",
  };
  const git = (args: string[]) => runGit(["--git-dir", options.repoPath, ...args], { env: identity });
  const headOf = async (branch: string) => (await git(["rev-parse", `refs/heads/${branch}`])).trim();
  const view = async (stored: Stored): Promise<ChangeRequest> => ({
    id: stored.id,
    url: `${options.webUrl}/pull/${stored.id}`,
    state: stored.state,
    branch: stored.branch,
    base: stored.base,
    title: stored.title,
    labels: [...stored.labels],
    headSha: await headOf(stored.branch).catch(() => ""),
    ...(stored.mergeSha === undefined ? {} : { mergeSha: stored.mergeSha }),
  });
  const merge = async (stored: Stored, expectedHeadSha?: string): Promise<void> => {
    const head = await headOf(stored.branch);
    if (expectedHeadSha !== undefined && head !== expectedHeadSha) {
      throw new ForgeError(`head of ${stored.branch} is ${head}, not ${expectedHeadSha}`, {
        kind: "conflict",
        adapter: "local",
        operation: "merge",
      });
    }
    const base = await headOf(stored.base);
    const tree = (await git(["merge-tree", "--write-tree", base, head])).trim().split("\n")[0] ?? "";
    const message = `Merge change request #${stored.id} from ${stored.branch}\n\n${stored.title}`;
    const commit = (await git(["commit-tree", tree, "-p", base, "-p", head, "-m", message])).trim();
    await git(["update-ref", `refs/heads/${stored.base}`, commit, base]);
    stored.state = "merged";
    stored.mergeSha = commit;
    stored.updatedAt = Date.now();
  };

  const forge: LocalForge = {
    name: "local",
    changeRequests: true,
    requests,
    calls,
    failNext: (method, error) => failures.set(method, error ?? new Error(`injected failure of ${method}`)),
    async open(request: OpenChangeRequest) {
      if (request.branch === request.base) {
        throw new ForgeError(`refusing a change request from ${request.branch} onto itself`, {
          kind: "invalid",
          adapter: "local",
          operation: "open",
        });
      }
      count("open");
      await headOf(request.branch).catch((error: unknown) => {
        throw new ForgeError(`branch ${request.branch} does not exist`, {
          kind: "invalid",
          adapter: "local",
          operation: "open",
          cause: error,
        });
      });
      const stored: Stored = {
        id: String(requests.length + 1),
        branch: request.branch,
        base: request.base,
        title: request.title,
        body: request.body,
        labels: [...(request.labels ?? [])],
        comments: [],
        state: "open",
        autoMerge: false,
        updatedAt: Date.now(),
      };
      requests.push(stored);
      return view(stored);
    },
    async findByBranch(branch) {
      count("findByBranch");
      const matching = requests.filter((request) => request.branch === branch);
      const open = matching.find((request) => request.state === "open");
      const latest = open ?? matching.sort((a, b) => b.updatedAt - a.updatedAt)[0];
      return latest === undefined ? undefined : view(latest);
    },
    async get(id) {
      count("get");
      return view(find(id));
    },
    async update(id, changes) {
      count("update");
      const stored = find(id);
      if (changes.title !== undefined) stored.title = changes.title;
      if (changes.body !== undefined) stored.body = changes.body;
      return view(stored);
    },
    async comment(id, body) {
      count("comment");
      find(id).comments.push(body);
    },
    async label(id, labels) {
      count("label");
      const stored = find(id);
      for (const label of labels) if (!stored.labels.includes(label)) stored.labels.push(label);
    },
    async merge(id, mergeOptions) {
      count("merge");
      const stored = find(id);
      if (stored.state !== "open") {
        throw new ForgeError(`change request ${id} is ${stored.state}`, {
          kind: "conflict",
          adapter: "local",
          operation: "merge",
        });
      }
      await merge(stored, mergeOptions.expectedHeadSha);
      return view(stored);
    },
    async enableAutoMerge(id) {
      count("enableAutoMerge");
      find(id).autoMerge = true;
    },
  };
  for (const method of ["open", "update", "comment", "label", "merge", "enableAutoMerge"] as const) {
    const original = forge[method].bind(forge) as (...args: never[]) => Promise<unknown>;
    Object.assign(forge, {
      [method]: async (...args: never[]) => {
        const result = await original(...args);
        save();
        return result;
      },
    });
  }
  return forge;
}
