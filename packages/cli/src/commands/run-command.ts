import { parseArgs } from "node:util";
import { createController, jsonLogger, redact } from "@selfheal/core";
import { withSignalTimeLimit } from "@selfheal/core/internal";
import { type CliIo, exitCodes, UsageError } from "./cli-io.js";
import { commandConfig, wireCommand } from "./command-config.js";
import { progress } from "./progress.js";

/** `selfheal run`: the controller, until SIGINT or SIGTERM. */
export async function runCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      config: { type: "string", short: "c" },
      host: { type: "string" },
      port: { type: "string" },
      "dry-run": { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65_535)) {
    throw new UsageError(`--port: expected a port number, got ${JSON.stringify(values.port)}`, "run");
  }
  const loaded = await commandConfig(io, values.config);
  const steps = progress(io);
  const wiring = steps.step("wiring adapters");
  const wired = await wireCommand(loaded, {
    ...(values["dry-run"] === true ? { dryRun: true } : {}),
    env: io.env,
    logger: jsonLogger({ level: loaded.config.controller.logLevel, write: io.stderr }),
  });
  wiring.done();
  const controller = createController(wired.settings);
  try {
    if (wired.workspace !== undefined) {
      // Clone (or fetch) now: a wrong URL or token shows at start, not at the first incident.
      const fetching = steps.step(`fetching ${wired.workspace.url}`);
      try {
        const { workspace } = wired;
        const head = await withSignalTimeLimit(io.stop, 120_000, (signal) => workspace.refresh(signal));
        fetching.done(`${wired.workspace.branch} at ${head.slice(0, 12)}`);
      } catch (error) {
        fetching.fail();
        throw error;
      }
    }
    const { headersTimeout, requestTimeout, keepAliveTimeout } = loaded.config.listen;
    const listening = await controller.listen({
      host: values.host ?? loaded.config.listen.host,
      port: port ?? loaded.config.listen.port,
      ...(headersTimeout === undefined ? {} : { headersTimeout }),
      ...(requestTimeout === undefined ? {} : { requestTimeout }),
      ...(keepAliveTimeout === undefined ? {} : { keepAliveTimeout }),
    });
    io.stdout(`selfheal listening on ${listening.url}\n`);
    if (wired.telemetry?.url !== undefined) io.stdout(`metrics on ${wired.telemetry.url}\n`);
    const otlp = wired.telemetry?.otlp;
    if (otlp?.traces !== undefined) io.stdout(`traces to ${redact(otlp.traces)} (OTLP)\n`);
    if (otlp?.metrics !== undefined) io.stdout(`metrics to ${redact(otlp.metrics)} (OTLP)\n`);
    if (!io.stop.aborted) {
      await new Promise<void>((resolve) =>
        io.stop.addEventListener("abort", () => resolve(), { once: true }),
      );
    }
    const stopping = steps.step("stopping");
    await controller.close();
    stopping.done();
    return exitCodes.ok;
  } finally {
    await controller.close();
    await wired.close();
  }
}
