import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, sleep } from "@selfheal/core/internal";

/** A server started for a test. */
export interface RunningServer {
  /** Base URL (`http://127.0.0.1:PORT`, followed by the server's path prefix if it has one). */
  readonly url: string;
  /** The temporary folder holding its config and data. */
  readonly directory: string;
  /** What it wrote to stderr so far (its log), for failure messages. */
  stderr(): string;
  /** Stop the process (SIGTERM, then SIGKILL) and remove the folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** How to start one server process. */
export interface ServerProcessOptions {
  /** Shown in errors (`prometheus`). */
  readonly label: string;
  readonly binary: string;
  /** Package that installs the binary, for the error when it is missing. */
  readonly debianPackage: string;
  /** Writes config files into the folder; returns the arguments for a port. */
  readonly prepare: (directory: string) => Promise<(port: number) => readonly string[]>;
  /** How long to wait for `/-/ready`. */
  readonly readyTimeoutMs: number;
  /**
   * Path the server serves everything under (`/prefix`, no trailing slash): `/-/ready` is
   * polled below it and `url` includes it.
   * @default ""
   */
  readonly basePath?: string;
}

const stderrLimit = 64 * 1024;

/** Thrown when a server binary is not installed; tests may skip on it outside CI. */
export class BinaryMissingError extends Error {
  constructor(
    readonly binary: string,
    debianPackage: string,
  ) {
    super(
      `${binary} is not installed or not executable: install it (apt-get install ${debianPackage}) or pass \`binary\``,
    );
    this.name = "BinaryMissingError";
  }
}

/** Whether `binary` exists and is executable. */
export async function binaryAvailable(binary: string): Promise<boolean> {
  try {
    await access(binary, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A port nobody listens on now (see `freePort` in `@selfheal/core/internal`). */
export { freePort };

/**
 * Start a server in a new temporary folder on a free port and wait until `/-/ready` answers
 * 200. Between closing the probe listener and the server binding the port another process may
 * take it: then we try again on another port (three times).
 */
export async function startServerProcess(options: ServerProcessOptions): Promise<RunningServer> {
  if (!(await binaryAvailable(options.binary)))
    throw new BinaryMissingError(options.binary, options.debianPackage);
  const directory = await mkdtemp(join(tmpdir(), `selfheal-${options.label}-`));
  try {
    const argsFor = await options.prepare(directory);
    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const started = await tryStart(options, directory, argsFor(port), port);
      if ("server" in started) return started.server;
      if (!(started.portTaken && attempt < 3)) throw new Error(started.message);
    }
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

async function tryStart(
  options: ServerProcessOptions,
  directory: string,
  args: readonly string[],
  port: number,
): Promise<{ server: RunningServer } | { message: string; portTaken: boolean }> {
  const url = `http://127.0.0.1:${port}${options.basePath ?? ""}`;
  const child = spawn(options.binary, args, { cwd: directory, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    log = (log + chunk).slice(-stderrLimit);
  });
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = signal === null ? `exit code ${code}` : `signal ${signal}`;
      resolve();
    });
    child.once("error", (error) => {
      exit = error.message;
      resolve();
    });
  });
  // A test run that dies without calling stop() must not leave the server behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", killOnExit);
    await terminate(child, exited, () => exit !== undefined);
    await rm(directory, { recursive: true, force: true });
  };

  const readyBy = Date.now() + options.readyTimeoutMs;
  while (Date.now() < readyBy) {
    if (exit !== undefined) break;
    if (await isReady(url)) {
      return { server: { url, directory, stderr: () => log, stop } };
    }
    await sleep(100);
  }
  const why = exit === undefined ? `not ready after ${options.readyTimeoutMs} ms` : `exited (${exit})`;
  process.removeListener("exit", killOnExit);
  await terminate(child, exited, () => exit !== undefined);
  return {
    message: `${options.label} (${options.binary} ${args.join(" ")}) ${why}; its log ends:\n${log.slice(-4000)}`,
    portTaken: /address already in use/i.test(log),
  };
}

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function terminate(
  child: ChildProcess,
  exited: Promise<void>,
  hasExited: () => boolean,
): Promise<void> {
  if (hasExited()) return;
  child.kill("SIGTERM");
  const graceful = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
  if (!graceful) {
    child.kill("SIGKILL");
    await exited;
  }
}

/**
 * The Prometheus binary the test helpers start: `SELFHEAL_PROMETHEUS_BINARY` when set (a current
 * Prometheus 3.x built by `scripts/go-tools.sh`), else Debian's `/usr/bin/prometheus` (2.42).
 */
export function prometheusBinary(): string {
  return process.env.SELFHEAL_PROMETHEUS_BINARY || "/usr/bin/prometheus";
}

/**
 * The Alertmanager binary the test helpers start: `SELFHEAL_ALERTMANAGER_BINARY` when set (a
 * current Alertmanager 0.3x), else Debian's `/usr/bin/prometheus-alertmanager` (0.25).
 */
export function alertmanagerBinary(): string {
  return process.env.SELFHEAL_ALERTMANAGER_BINARY || "/usr/bin/prometheus-alertmanager";
}
