import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The OPA version the tests and CI run. `scripts/go-tools.sh` builds the same version (a test
 * checks that the two agree).
 */
export const opaVersion = "1.22.4";

/** Options of {@link findOpa}. */
export interface FindOpaOptions {
  /**
   * An OPA binary to use instead of the cached build.
   * @default none: `$SELFHEAL_TOOLS/opa-<opaVersion>/opa`
   */
  readonly binary?: string;
  /**
   * Environment to read `SELFHEAL_TOOLS` from.
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Thrown when no OPA binary is found: the message says how to build it. */
export class OpaMissingError extends Error {
  constructor(readonly expectedAt: string) {
    super(
      `OPA ${opaVersion} is not at ${expectedAt}: build it with scripts/go-tools.sh opa (go install, about 3 minutes), or set SELFHEAL_TOOLS to the folder that holds opa-${opaVersion}/`,
    );
    this.name = "OpaMissingError";
  }
}

/** The cache folder `scripts/go-tools.sh` builds into: `$SELFHEAL_TOOLS`, else `~/.cache/selfheal-tools`. */
export function selfhealToolsDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const configured = env.SELFHEAL_TOOLS;
  return configured !== undefined && configured !== ""
    ? configured
    : join(homedir(), ".cache", "selfheal-tools");
}

/** Where the pinned OPA build is expected. */
export function expectedOpaPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  return join(selfhealToolsDir(env), `opa-${opaVersion}`, "opa");
}

/** The OPA binary to run, or `undefined` when it is not there (or not executable). */
export async function findOpa(options: FindOpaOptions = {}): Promise<string | undefined> {
  const candidate = options.binary ?? expectedOpaPath(options.env);
  try {
    await access(candidate, constants.X_OK);
    return candidate;
  } catch {
    return undefined;
  }
}

/** Whether a test file that needs OPA runs, and why not. */
export interface OpaGate {
  /** The binary, when found. */
  readonly binary: string | undefined;
  /** True only outside CI when OPA is missing: under `CI=true` a missing OPA fails the tests. */
  readonly skip: boolean;
  /** Why the tests skip (or would fail in CI); empty when OPA is there. */
  readonly why: string;
}

/**
 * For test files: find OPA and decide whether to skip. Outside CI a missing OPA skips (and says
 * why on stderr, once per file); under `CI=true` it does not skip, so {@link startOpa} and
 * {@link runOpa} throw {@link OpaMissingError} and the run fails.
 */
export async function opaGate(options: FindOpaOptions = {}): Promise<OpaGate> {
  const env = options.env ?? process.env;
  const binary = await findOpa(options);
  if (binary !== undefined) return { binary, skip: false, why: "" };
  const why = new OpaMissingError(options.binary ?? expectedOpaPath(env)).message;
  const skip = env.CI !== "true";
  if (skip) process.stderr.write(`skipping tests that need a real OPA: ${why}\n`);
  return { binary: undefined, skip, why };
}

/** What a finished `opa` command printed. */
export interface OpaCommandResult {
  /** Exit code (0 when it succeeded). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run one `opa` command (`test`, `check`, `fmt`, `eval`) to its end; never throws for a non-zero
 * exit (the caller asserts on `code`).
 *
 * @throws OpaMissingError when the binary is not there.
 */
export async function runOpa(
  args: readonly string[],
  options: FindOpaOptions & { readonly cwd?: string } = {},
): Promise<OpaCommandResult> {
  const binary = await findOpa(options);
  if (binary === undefined) throw new OpaMissingError(options.binary ?? expectedOpaPath(options.env));
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      [...args],
      { cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : (error as { code?: unknown }).code;
        if (typeof code === "number") resolve({ code, stdout, stderr });
        else reject(error ?? new Error(`opa ${args.join(" ")} ended without an exit code`));
      },
    );
  });
}
