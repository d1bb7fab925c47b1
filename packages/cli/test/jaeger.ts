import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@selfheal/core/internal";

/** Jaeger v2 as `scripts/go-tools.sh jaeger` builds it. */
export const jaegerVersion = "1.75.0";

/** Where `scripts/go-tools.sh` puts Jaeger: `$SELFHEAL_TOOLS/jaeger-<version>/jaeger`. */
export function jaegerBinary(env: NodeJS.ProcessEnv = process.env): string {
  const tools = env.SELFHEAL_TOOLS ?? join(homedir(), ".cache", "selfheal-tools");
  return join(tools, `jaeger-${jaegerVersion}`, "jaeger");
}

export async function jaegerAvailable(): Promise<boolean> {
  try {
    await access(jaegerBinary(), constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A Jaeger started for a test: OTLP/HTTP receiver, in-memory storage, the query HTTP API. */
export interface RunningJaeger {
  /** Base URL of the OTLP/HTTP receiver (`/v1/traces` below it). */
  readonly otlpUrl: string;
  /** Base URL of the query service (`/api/traces/<id>`). */
  readonly queryUrl: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Start Jaeger v2 (an OpenTelemetry Collector build) on free loopback ports with a config of its
 * own: the OTLP/HTTP receiver into memory storage, the query service, no other receiver or
 * extension, no internal metrics port. Ready when the query API answers and the receiver takes
 * an empty export (or fails when the process ends first; the caller's timeout bounds the wait).
 */
export async function startJaeger(): Promise<RunningJaeger> {
  const directory = await mkdtemp(join(tmpdir(), "selfheal-jaeger-"));
  const [otlpPort, queryPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  const config = [
    "service:",
    "  extensions: [jaeger_storage, jaeger_query]",
    "  pipelines:",
    "    traces:",
    "      receivers: [otlp]",
    "      exporters: [jaeger_storage_exporter]",
    "  telemetry:",
    "    metrics: { level: none }",
    "    logs: { level: warn }",
    // Jaeger's own spans would go to localhost:4317 by default: nobody listens there.
    "    traces: { level: none }",
    "extensions:",
    "  jaeger_storage:",
    "    backends:",
    "      memstore: { memory: { max_traces: 10000 } }",
    "  jaeger_query:",
    "    storage: { traces: memstore }",
    `    http: { endpoint: "127.0.0.1:${queryPort}" }`,
    `    grpc: { endpoint: "127.0.0.1:${grpcPort}" }`,
    "receivers:",
    "  otlp:",
    "    protocols:",
    `      http: { endpoint: "127.0.0.1:${otlpPort}" }`,
    "exporters:",
    "  jaeger_storage_exporter: { trace_storage: memstore }",
    "",
  ].join("\n");
  await writeFile(join(directory, "config.yaml"), config);
  const child: ChildProcess = spawn(jaegerBinary(), ["--config", join(directory, "config.yaml")], {
    cwd: directory,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString("utf8")).slice(-64 * 1024);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited: string | undefined;
  const ended = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = signal === null ? `exit code ${code}` : `signal ${signal}`;
      resolve();
    }),
  );
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const stop = async () => {
    process.off("exit", killOnExit);
    if (exited === undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await ended;
      clearTimeout(timer);
    }
    await rm(directory, { recursive: true, force: true });
  };
  const otlpUrl = `http://127.0.0.1:${otlpPort}`;
  const queryUrl = `http://127.0.0.1:${queryPort}`;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`jaeger ended (${exited}) before it was ready:\n${log}`);
    }
    const ready = await Promise.all([
      fetch(`${queryUrl}/api/services`).then(
        (answer) => answer.ok,
        () => false,
      ),
      fetch(`${otlpUrl}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      }).then(
        (answer) => answer.ok,
        () => false,
      ),
    ]);
    if (ready.every(Boolean)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { otlpUrl, queryUrl, log: () => log, stop };
}

/** One span as Jaeger's query API (`/api/traces/<id>`) shows it. */
export interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly operationName: string;
  readonly references: readonly { refType: string; traceID: string; spanID: string }[];
  readonly tags: readonly { key: string; value: unknown }[];
  readonly startTime: number;
  readonly duration: number;
}

/** The spans of a trace, or `[]` while Jaeger does not have it. */
export async function jaegerTrace(queryUrl: string, traceId: string): Promise<JaegerSpan[]> {
  const answer = await fetch(`${queryUrl}/api/traces/${traceId}`);
  if (answer.status === 404) return [];
  if (!answer.ok) throw new Error(`jaeger /api/traces/${traceId}: ${answer.status} ${await answer.text()}`);
  const body = (await answer.json()) as { data?: { spans?: JaegerSpan[] }[] };
  return body.data?.flatMap((trace) => trace.spans ?? []) ?? [];
}

/** A span's tag value. */
export function tag(span: JaegerSpan, key: string): unknown {
  return span.tags.find((entry) => entry.key === key)?.value;
}
