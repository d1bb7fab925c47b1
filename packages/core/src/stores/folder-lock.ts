import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describeError, StoreError } from "../errors/selfheal-error.js";
import type { Logger } from "../util/logger.js";

/** A held lock on a store folder. */
export interface FolderLock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Take the lock of a store folder: `dir/lock`, created exclusively, holding the pid (and the
 * start time of the process, on a second line). One writer per folder: a lock whose process is
 * alive is refused; one whose process is gone is taken over.
 *
 * The start time tells apart a lock of this very process (another store open on the folder)
 * from one left by an earlier process that had the same pid, as a restarted container running
 * as pid 1 always does.
 */
export async function lockFolder(dir: string, logger: Logger): Promise<FolderLock> {
  const path = join(dir, "lock");
  const startedAt = Math.round(Date.now() - process.uptime() * 1000);
  const content = `${process.pid}\n${startedAt}\n`;
  const release = async () => {
    await rm(path, { force: true });
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(path, content, { flag: "wx", mode: 0o600 });
      return { path, release };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw lockError(path, "cannot create", error);
    }
    const held = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") return undefined; // released meanwhile: try again
      throw lockError(path, "cannot read", error);
    });
    if (held === undefined) continue;
    const owner = parseLock(held);
    if (owner === undefined) {
      throw new StoreError(
        `${path} holds no process id: if no selfheal process uses ${dir}, remove the file`,
        { adapter: "file-store", operation: "open", retryable: false },
      );
    }
    if (isHeldBy(owner, startedAt)) {
      const whose = owner.pid === process.pid ? " (this process: another store is open on it)" : "";
      throw new StoreError(`${dir} is in use by process ${owner.pid}${whose}`, {
        adapter: "file-store",
        operation: "open",
      });
    }
    // Remove the stale lock only if it is still the one we read: another process starting at
    // the same time may have taken it over already.
    if ((await readFile(path, "utf8").catch(() => undefined)) !== held) continue;
    logger.warn("taking over the lock of a process that is gone", { lock: path, pid: owner.pid });
    await rm(path, { force: true });
  }
  throw new StoreError(`cannot take ${path}: other processes keep taking it`, {
    adapter: "file-store",
    operation: "open",
  });
}

function parseLock(text: string): { pid: number; startedAt: number | undefined } | undefined {
  const [pidLine = "", startLine = ""] = text.split("\n");
  const pid = Number(pidLine.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  const startedAt = Number(startLine.trim());
  return { pid, startedAt: startLine.trim() !== "" && Number.isFinite(startedAt) ? startedAt : undefined };
}

/** Whether the process that wrote the lock is still running. */
function isHeldBy(owner: { pid: number; startedAt: number | undefined }, ourStart: number): boolean {
  if (owner.pid === process.pid) {
    // Same pid: this process, unless the lock says it was started at another time.
    return owner.startedAt === undefined || Math.abs(owner.startedAt - ourStart) < 1000;
  }
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function lockError(path: string, what: string, cause: unknown): StoreError {
  return new StoreError(`${what} lock file ${path}: ${describeError(cause)}`, {
    adapter: "file-store",
    operation: "open",
    cause,
  });
}
