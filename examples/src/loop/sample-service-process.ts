import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BadInputError, Mutex, SelfHealError } from "@selfheal/core";
import { errorRateOf, sampleVersions, type VersionBehaviour } from "./sample-service.js";

/** Settings of {@link sampleServiceProcess}. */
export interface SampleServiceProcessSettings {
  /** The version to start with. */
  readonly version: string;
  /**
   * Port of the service and its `/metrics`, kept across restarts; 0 lets the first start pick one.
   * @default 0
   */
  readonly port?: number;
  /**
   * The `service` label of the metrics.
   * @default "checkout"
   */
  readonly service?: string;
  /**
   * Requests per second the service sends itself.
   * @default 0
   */
  readonly selfLoad?: number;
  /**
   * Behaviour by version; resolved here, so a test can add versions the child does not know.
   * @default sampleVersions
   */
  readonly versions?: Readonly<Record<string, VersionBehaviour>>;
  /**
   * The compiled entry point to run with `node`.
   * @default `sample-service-main.js` beside this module (from sources: `examples/dist/loop/`)
   */
  readonly entry?: string;
  /**
   * Longest wait for a start, in milliseconds. Generous: a Node.js start takes seconds on a
   * loaded machine, and a start that fails says so at once (the child exits).
   * @default 30000
   */
  readonly startTimeoutMs?: number;
}

/** The sample service running in a child process. */
export interface SampleServiceProcess {
  /** Base URL; the same across restarts. */
  readonly url: string;
  /** `${url}/metrics`: one Prometheus target whatever the version. */
  readonly metricsUrl: string;
  readonly port: number;
  /** The version running now; `"stopped"` when no child runs. */
  readonly version: string;
  /** Process id of the running child; -1 when none runs. */
  readonly pid: number;
  /** How many times the process was started (1 after the first start). */
  readonly starts: number;
  /** Stop the child and start a new one at `version` on the same port. */
  restart(version: string): Promise<void>;
  /** Stop the child (SIGTERM, SIGKILL after 5 s). */
  stop(): Promise<void>;
}

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  readonly version: string;
}

/** The port of the child's ready line, or undefined when the line is not one. */
function readyPort(line: string): number | undefined {
  try {
    const ready = JSON.parse(line) as { port?: unknown };
    return typeof ready.port === "number" ? ready.port : undefined;
  } catch {
    return undefined;
  }
}

/** The default entry: the compiled main beside this module, or in `dist/` when run from sources. */
function defaultEntry(): string {
  const here = import.meta.url;
  const compiled = here.endsWith(".ts")
    ? new URL("../../dist/loop/sample-service-main.js", here)
    : new URL("./sample-service-main.js", here);
  return fileURLToPath(compiled);
}

/**
 * Start the sample service as a child process. `restart(version)` is a real process restart at
 * that version on the same port, which is what the sync agent does on a deploy.
 */
export async function sampleServiceProcess(
  settings: SampleServiceProcessSettings,
): Promise<SampleServiceProcess> {
  const entry = settings.entry ?? defaultEntry();
  if (!existsSync(entry)) {
    throw new BadInputError(
      `sample service: ${entry} does not exist; build the examples first (pnpm exec tsc -b examples)`,
      { adapter: "sample-service" },
    );
  }
  const versions = settings.versions ?? sampleVersions;
  const timeoutMs = settings.startTimeoutMs ?? 30_000;
  let starts = 0;
  // A restart and a stop never interleave: one child at a time holds the port.
  const lock = new Mutex();

  const launch = (version: string, port: number): Promise<Running> => {
    const errorRate = errorRateOf(version, versions);
    starts++;
    const child = spawn(
      process.execPath,
      [
        entry,
        ...["--version", version, "--port", String(port), "--error-rate", String(errorRate)],
        ...["--service", settings.service ?? "checkout", "--self-load", String(settings.selfLoad ?? 0)],
        "--exit-with-stdin",
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    return new Promise<Running>((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      const fail = (reason: string) => {
        clearTimeout(timer);
        child.kill("SIGKILL");
        reject(
          new SelfHealError(
            `sample service ${version} did not start: ${reason}${stderr ? `\n${stderr}` : ""}`,
            {
              adapter: "sample-service",
              operation: "start",
            },
          ),
        );
      };
      const timer = setTimeout(() => fail(`no ready line within ${timeoutMs} ms`), timeoutMs);
      child.stderr?.on("data", (chunk: Buffer) => {
        // Only the tail matters for a start failure; a long-running child must not grow it.
        stderr = (stderr + chunk.toString("utf8")).slice(-8192);
      });
      child.once("error", (error) => fail(error.message));
      child.once("exit", (code, signal) => fail(`exited (${signal ?? code})`));
      const onData = (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
        const line = stdout.split("\n", 1)[0];
        if (line === undefined || !stdout.includes("\n")) return;
        child.stdout?.off("data", onData);
        // Later output is not read; keep the pipe flowing so the child never blocks on it.
        child.stdout?.resume();
        const port = readyPort(line);
        if (port === undefined) {
          fail(`unexpected first line ${JSON.stringify(line)}`);
          return;
        }
        child.removeAllListeners("exit");
        clearTimeout(timer);
        // A child that dies on its own is no longer the running version.
        child.once("exit", () => {
          if (running?.child === child) running = undefined;
        });
        resolve({ child, port, version });
      };
      child.stdout?.on("data", onData);
    });
  };

  let running: Running | undefined;
  running = await launch(settings.version, settings.port ?? 0);
  const port = running.port;
  const url = `http://127.0.0.1:${port}`;

  const stopChild = async () => {
    const current = running;
    running = undefined;
    if (current === undefined) return;
    const { child } = current;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const killer = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.once("exit", () => {
        clearTimeout(killer);
        resolve();
      });
      child.kill("SIGTERM");
    });
  };

  return {
    url,
    metricsUrl: `${url}/metrics`,
    port,
    get version() {
      return running?.version ?? "stopped";
    },
    get pid() {
      return running?.child.pid ?? -1;
    },
    get starts() {
      return starts;
    },
    restart: (version) =>
      lock.run(async () => {
        errorRateOf(version, versions);
        await stopChild();
        running = await launch(version, port);
      }),
    stop: () => lock.run(stopChild),
  };
}
