import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, sleep } from "@selfheal/core/internal";
import { Agent, request } from "undici";
import { expectedOpaPath, type FindOpaOptions, findOpa, OpaMissingError } from "./find-opa.js";

/** Options of {@link startOpa}. */
export interface StartOpaOptions extends FindOpaOptions {
  /**
   * Rego modules to load, by file name (`"selfheal.rego": "package selfheal ..."`); written into
   * the server's temporary folder.
   * @default {}
   */
  readonly policies?: Readonly<Record<string, string>>;
  /**
   * Files or folders to load as they are (the shipped `policies/selfheal.rego`).
   * @default []
   */
  readonly files?: readonly string[];
  /**
   * The base data document, loaded at the root of `data` (`{ selfheal: { config: {...} } }`).
   * @default none
   */
  readonly data?: unknown;
  /**
   * Serve HTTPS with this certificate and key (PEM text); `ca` (PEM) is what the readiness probe
   * trusts. The returned `url` is then `https://127.0.0.1:PORT`.
   * @default plain HTTP
   */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
  /**
   * More flags for `opa run --server` (`--set=decision_logs.console=true`,
   * `--authentication=token`), after the generated ones.
   * @default []
   */
  readonly args?: readonly string[];
  /**
   * How long to wait for the server to answer HTTP, in milliseconds.
   * @default 30000
   */
  readonly readyTimeoutMs?: number;
}

/** An `opa run --server` started for a test. */
export interface RunningOpa {
  /** `http://127.0.0.1:PORT` (or `https://` with `tls`). */
  readonly url: string;
  /** The temporary folder holding its policies and data. */
  readonly directory: string;
  /** What OPA logged so far (JSON lines on stderr; decision logs included when enabled). */
  log(): string;
  /** Stop OPA (SIGTERM, then SIGKILL) and remove its folder. Safe to call twice. */
  stop(): Promise<void>;
}

const logLimit = 1024 * 1024;

/**
 * Start a real OPA server (`opa run --server`) on a free loopback port with a temporary folder,
 * and wait until it answers HTTP (any status: with `--authorization=basic` even `/health` needs a
 * token). Another process may take the port between our probe and OPA's bind: then it tries
 * again on another port, three times.
 *
 * @throws OpaMissingError when the binary is not there; an Error with the end of OPA's log when
 *   it does not start.
 */
export async function startOpa(options: StartOpaOptions = {}): Promise<RunningOpa> {
  const binary = await findOpa(options);
  if (binary === undefined) throw new OpaMissingError(options.binary ?? expectedOpaPath(options.env));
  const directory = await mkdtemp(join(tmpdir(), "selfheal-opa-"));
  try {
    const loaded: string[] = [...(options.files ?? [])];
    for (const [name, text] of Object.entries(options.policies ?? {})) {
      if (!/^[\w.-]+\.rego$/.test(name))
        throw new Error(`startOpa: policy file name ${name} must end in .rego`);
      await writeFile(join(directory, name), text);
      loaded.push(join(directory, name));
    }
    if (options.data !== undefined) {
      // Named data.json at the folder's top: OPA loads it at the root of `data`.
      await writeFile(join(directory, "data.json"), JSON.stringify(options.data));
      loaded.push(join(directory, "data.json"));
    }
    const tlsArgs: string[] = [];
    if (options.tls !== undefined) {
      await writeFile(join(directory, "server.crt"), options.tls.cert);
      await writeFile(join(directory, "server.key"), options.tls.key, { mode: 0o600 });
      tlsArgs.push(
        `--tls-cert-file=${join(directory, "server.crt")}`,
        `--tls-private-key-file=${join(directory, "server.key")}`,
      );
    }
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const instance = randomUUID();
      const args = [
        "run",
        "--server",
        `--addr=127.0.0.1:${port}`,
        // Which OPA answers on the port: ours, or one that took it first (see `answers`).
        `--set=labels.selfheal_instance=${instance}`,
        ...tlsArgs,
        ...(options.args ?? []),
        ...loaded,
      ];
      const started = await tryStart(binary, args, port, instance, directory, options);
      if ("server" in started) return started.server;
      if (!(started.portTaken && attempt < 3)) throw new Error(started.message);
    }
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
}

async function tryStart(
  binary: string,
  args: readonly string[],
  port: number,
  instance: string,
  directory: string,
  options: StartOpaOptions,
): Promise<{ server: RunningOpa } | { message: string; portTaken: boolean }> {
  const scheme = options.tls === undefined ? "http" : "https";
  const url = `${scheme}://127.0.0.1:${port}`;
  const child = spawn(binary, args, { cwd: directory, stdio: ["ignore", "pipe", "pipe"] });
  // Chunks, trimmed now and then: OPA logs every request at info level, and copying the whole
  // log on each chunk cost more CPU than the decisions under benchmark.
  let chunks: string[] = [];
  let kept = 0;
  const keep = (chunk: string) => {
    chunks.push(chunk);
    kept += chunk.length;
    if (kept > 2 * logLimit) {
      chunks = [chunks.join("").slice(-logLimit)];
      kept = logLimit;
    }
  };
  const log = () => chunks.join("").slice(-logLimit);
  child.stdout?.setEncoding("utf8").on("data", keep);
  child.stderr?.setEncoding("utf8").on("data", keep);
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
  // A test run that dies without calling stop() must not leave OPA behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  const probe = new Agent({ connect: options.tls === undefined ? {} : { ca: options.tls.ca } });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", killOnExit);
    await terminate(child, exited, () => exit !== undefined);
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const readyBy = Date.now() + (options.readyTimeoutMs ?? 30_000);
    let someoneElse = false;
    while (Date.now() < readyBy && exit === undefined) {
      const answer = await answers(url, instance, probe);
      if (answer === "ours") return { server: { url, directory, log, stop } };
      if (answer === "someone else") {
        someoneElse = true;
        break;
      }
      await sleep(50);
    }
    if (someoneElse) {
      process.removeListener("exit", killOnExit);
      await terminate(child, exited, () => exit !== undefined);
      return { message: `another OPA answered on port ${port}`, portTaken: true };
    }
  } finally {
    await probe.close();
  }
  const why = exit === undefined ? "did not answer HTTP in time" : `exited (${exit})`;
  process.removeListener("exit", killOnExit);
  await terminate(child, exited, () => exit !== undefined);
  return {
    message: `opa (${binary} ${args.join(" ")}) ${why}; its log ends:\n${log().slice(-4000)}`,
    portTaken: /address already in use/i.test(log()),
  };
}

/**
 * Who answers on the port. Our OPA shows its `selfheal_instance` label in `GET /v1/config`; another
 * process that took the port between our probe and OPA's bind (another test's OPA, started at the
 * same moment) shows another one, and its answers must not pass for ours. With authentication on,
 * the config is not readable: any answer counts, as the port was free a moment ago.
 */
async function answers(
  url: string,
  instance: string,
  dispatcher: Agent,
): Promise<"ours" | "someone else" | "none"> {
  try {
    const response = await request(`${url}/v1/config`, { dispatcher, signal: AbortSignal.timeout(1000) });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return "ours";
    }
    const config = (await response.body.json()) as { result?: { labels?: Record<string, unknown> } };
    return config.result?.labels?.selfheal_instance === instance ? "ours" : "someone else";
  } catch {
    return "none";
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
