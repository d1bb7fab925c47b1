import { BadInputError, redact } from "@selfheal/core";

/** One problem of a config file, where it is. */
export interface ConfigProblem {
  /** The file, as given. */
  readonly file: string;
  /** 1-based line and column. */
  readonly line: number;
  readonly column: number;
  /** Dotted key path (`guardrails.rateLimit.max`); empty for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** `selfheal.yaml:12:3 guardrails.rateLimit.max: expected number, got string` */
export function formatProblem(problem: ConfigProblem): string {
  const where = `${problem.file}:${problem.line}:${problem.column}`;
  return problem.path === "" ? `${where} ${problem.message}` : `${where} ${problem.path}: ${problem.message}`;
}

/** A config file that cannot be used, with every problem found (not only the first). */
export class ConfigError extends BadInputError {
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: readonly ConfigProblem[], options: { readonly cause?: unknown } = {}) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n${problems.map(formatProblem).join("\n")}`,
      { path: file, ...(options.cause === undefined ? {} : { cause: options.cause }) },
    );
    this.name = "ConfigError";
    // Known token shapes are masked even in a value echoed back (`expected one of ..., got "ghp_..."`).
    this.problems = problems.map((problem) => ({ ...problem, message: redact(problem.message) }));
  }

  /** One line per problem: `file:line:col key.path: message`. */
  get problemsText(): string {
    return this.problems.map(formatProblem).join("\n");
  }
}
