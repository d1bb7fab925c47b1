import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { BadInputError, Decision, DecisionInput } from "@selfheal/core";
import { wirePolicy } from "../wire/wire-policy.js";
import { type CliIo, exitCodes, readJsonArgument, UsageError } from "./cli-io.js";
import { commandConfig } from "./command-config.js";

/** `selfheal policy eval --input FILE`: the configured policy's decision on one input. */
export async function policyEvalCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      config: { type: "string", short: "c" },
      input: { type: "string", short: "i" },
      json: { type: "boolean" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals[0] !== "eval" || positionals.length > 1) {
    throw new UsageError("expected: selfheal policy eval --input FILE", "policy");
  }
  if (values.input === undefined) throw new UsageError("--input FILE is required", "policy");
  const input = await readInput(resolve(io.cwd, values.input), values.input);
  const loaded = await commandConfig(io, values.config);
  const { policy, close } = wirePolicy(loaded.config.policy);
  try {
    const draft = await policy.decide(input, { signal: AbortSignal.timeout(30_000) });
    const parsed = Decision.safeParse(draft);
    if (!parsed.success) {
      io.stderr(`policy ${policy.name} answered something that is not a decision: ${parsed.error.message}\n`);
      return exitCodes.failure;
    }
    const decision = parsed.data;
    io.stdout(
      values.json === true
        ? `${JSON.stringify({ policy: policy.name, decision }, null, 2)}\n`
        : `policy: ${policy.name}\naction: ${decision.action}\nparams: ${JSON.stringify(decision.params)}\nescalate: ${decision.escalate}\nreason: ${decision.reason}\n`,
    );
    return exitCodes.ok;
  } finally {
    await close();
  }
}

async function readInput(path: string, given: string): Promise<DecisionInput> {
  const data = await readJsonArgument(path, given);
  const parsed = DecisionInput.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `  ${issue.path.join(".") || "(root)"}: ${issue.message}`,
    );
    throw new BadInputError(`${given}: not a decision input:\n${problems.join("\n")}`, { path: given });
  }
  return parsed.data;
}
