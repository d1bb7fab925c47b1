import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { describeError, SelfHealError } from "@selfheal/core";
import { type CliIo, exitCodes, UsageError } from "./commands/cli-io.js";
import { helpText } from "./commands/help-text.js";
import { ConfigError } from "./config/config-error.js";

type Command = (args: readonly string[], io: CliIo) => Promise<number>;

// Commands are imported when run: `--help` need not load every adapter (Octokit, pg, undici).
const commands: Readonly<Record<string, Command>> = {
  run: async (args, io) => (await import("./commands/run-command.js")).runCommand(args, io),
  replay: async (args, io) => (await import("./commands/replay-command.js")).replayCommand(args, io),
  audit: async (args, io) => (await import("./commands/audit-command.js")).auditCommand(args, io),
  policy: async (args, io) => (await import("./commands/policy-eval-command.js")).policyEvalCommand(args, io),
  demo: async (args, io) => (await import("./commands/demo-command.js")).demoCommand(args, io),
  async check(args, io) {
    const { values } = parseArgs({
      args: [...args],
      options: { config: { type: "string", short: "c" } },
      strict: true,
      allowPositionals: false,
    });
    const { commandConfig } = await import("./commands/command-config.js");
    const loaded = await commandConfig(io, values.config);
    io.stdout(`${loaded.file}: valid\n`);
    return exitCodes.ok;
  },
  async schema(args, io) {
    parseArgs({ args: [...args], options: {}, strict: true, allowPositionals: false });
    const { configJsonSchema } = await import("./config/selfheal-config.js");
    io.stdout(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    return exitCodes.ok;
  },
};

/**
 * Run `selfheal` with `argv` (without `node` and the script) and resolve with its exit code:
 * 0 done, 1 runtime failure, 2 bad usage or config. Never throws.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(helpText[""] ?? "");
    return exitCodes.usage;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    const topic = rest[0] ?? "";
    io.stdout(helpText[topic] ?? helpText[""] ?? "");
    return exitCodes.ok;
  }
  if (name === "--version" || name === "-v") {
    io.stdout(`${version()}\n`);
    return exitCodes.ok;
  }
  const command = commands[name];
  if (command === undefined) {
    io.stderr(`selfheal: unknown command ${JSON.stringify(name)}\n\n${helpText[""] ?? ""}`);
    return exitCodes.usage;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(helpText[name] ?? "");
    return exitCodes.ok;
  }
  try {
    return await command(rest, io);
  } catch (error) {
    return reportError(error, name, io);
  }
}

function reportError(error: unknown, command: string, io: CliIo): number {
  if (error instanceof ConfigError) {
    io.stderr(`selfheal ${command}: invalid config\n${error.problemsText}\n`);
    return exitCodes.usage;
  }
  // parseArgs rejects unknown options and missing values with these codes.
  const code = error instanceof Error && "code" in error ? String(error.code) : "";
  if (error instanceof UsageError || code.startsWith("ERR_PARSE_ARGS")) {
    const topic = error instanceof UsageError ? error.command : command;
    io.stderr(`selfheal ${command}: ${describeError(error)}\n\n${helpText[topic] ?? ""}`);
    return exitCodes.usage;
  }
  if (SelfHealError.isInstance(error) && error.name === "BadInputError") {
    io.stderr(`selfheal ${command}: ${describeError(error)}\n`);
    return exitCodes.usage;
  }
  io.stderr(`selfheal ${command}: ${describeError(error)}\n`);
  return exitCodes.failure;
}

function version(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  return manifest !== null && typeof manifest === "object" && "version" in manifest
    ? String(manifest.version)
    : "unknown";
}
