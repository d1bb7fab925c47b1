import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { BadInputError, SelfHealError } from "@selfheal/core";
import { Mutex } from "@selfheal/core/internal";
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
   * Replicas (simulated pods) to start with; kept across restarts, changed by `scale`.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * CPU demand in cores over all replicas; kept across restarts, changed by `setCpuDemand`.
   * @default 0.4 per replica at the start
   */
  readonly cpuDemand?: number;
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
  /** Replicas (simulated pods) running. */
  readonly replicas: number;
  /** CPU demand over all replicas, in cores. */
  readonly cpuDemand: number;
  /** Stop the child and start a new one at `version` on the same port. */
  restart(version: string): Promise<void>;
  /** Run `replicas` pods, without a restart (the first pods keep their CPU counters). */
  scale(replicas: number): Promise<void>;
  /** Set the CPU the service's work needs, in cores (a traffic surge raises it). */
  setCpuDemand(cores: number): Promise<void>;
  /** Stop the child (SIGTERM, SIGKILL after 5 s). */
  stop(): Promise<void>;
}

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  readonly version: string;
  /** Answers to control lines, by id. */
  readonly pending: Map<number, { resolve: () => void; reject: (error: Error) => void }>;
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

/** Settle the control line an answer line names; other lines are ignored. */
function answered(pending: Running["pending"], line: string): void {
  let answer: { ack?: unknown; error?: unknown };
  try {
    answer = JSON.parse(line) as { ack?: unknown; error?: unknown };
  } catch {
    return;
  }
  if (typeof answer.ack !== "number") return;
  const waiter = pending.get(answer.ack);
  pending.delete(answer.ack);
  if (typeof answer.error === "string") {
    waiter?.reject(new BadInputError(answer.error, { adapter: "sample-service" }));
  } else waiter?.resolve();
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
  let replicas = settings.replicas ?? 1;
  let cpuDemand = settings.cpuDemand ?? 0.4 * replicas;
  let nextId = 1;
  // A restart, a stop and a control line never interleave: one child at a time holds the port.
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
        ...["--replicas", String(replicas), "--cpu-demand", String(cpuDemand)],
        "--exit-with-stdin",
        "--stdin-control",
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
      const pending: Running["pending"] = new Map();
      const onData = (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
        const line = stdout.split("\n", 1)[0];
        if (line === undefined || !stdout.includes("\n")) return;
        child.stdout?.off("data", onData);
        const port = readyPort(line);
        if (port === undefined) {
          fail(`unexpected first line ${JSON.stringify(line)}`);
          return;
        }
        // Later lines answer control lines; the rest is not read, but the pipe keeps flowing.
        let rest = stdout.slice(line.length + 1);
        child.stdout?.on("data", (more: Buffer) => {
          rest += more.toString("utf8");
          for (let end = rest.indexOf("\n"); end >= 0; end = rest.indexOf("\n")) {
            answered(pending, rest.slice(0, end));
            rest = rest.slice(end + 1);
          }
        });
        child.removeAllListeners("exit");
        clearTimeout(timer);
        // A child that dies on its own is no longer the running version.
        child.once("exit", (code, signal) => {
          if (running?.child === child) running = undefined;
          for (const waiter of pending.values())
            waiter.reject(new Error(`sample service exited (${signal ?? code})`));
          pending.clear();
        });
        resolve({ child, port, version, pending });
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

  /** Send one control line to the running child and wait for its answer. */
  const control = (command: { replicas?: number; cpuDemand?: number }) =>
    lock.run(async () => {
      const current = running;
      if (current === undefined)
        throw new SelfHealError("sample service is not running", { adapter: "sample-service" });
      const id = nextId++;
      const answer = new Promise<void>((resolve, reject) => current.pending.set(id, { resolve, reject }));
      current.child.stdin?.write(`${JSON.stringify({ id, ...command })}\n`);
      await answer;
      if (command.replicas !== undefined) replicas = command.replicas;
      if (command.cpuDemand !== undefined) cpuDemand = command.cpuDemand;
    });

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
    get replicas() {
      return replicas;
    },
    get cpuDemand() {
      return cpuDemand;
    },
    scale: (count) => control({ replicas: count }),
    setCpuDemand: (cores) => control({ cpuDemand: cores }),
    restart: (version) =>
      lock.run(async () => {
        errorRateOf(version, versions);
        await stopChild();
        running = await launch(version, port);
      }),
    stop: () => lock.run(stopChild),
  };
}
