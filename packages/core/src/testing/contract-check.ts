import { describe, it } from "vitest";

/**
 * One check of a contract suite: its title names the rules it checks, and every assertion in
 * it fails with a message that starts with `rule:` and says which rule was broken.
 */
export interface ContractCheck<Setup> {
  /** What the check holds the adapter to, in one sentence. */
  readonly title: string;
  /** Runs the check against a fresh adapter from `setup`; rejects with the broken rule. */
  run(setup: Setup): Promise<void>;
}

/** The message of an assertion that checks `rule`: vitest prints it before what it saw. */
export function rule(text: string): string {
  return `rule: ${text}`;
}

/** Registers one vitest test per check under `describe(title)`. */
export function describeContract<Setup>(
  title: string,
  checks: readonly ContractCheck<Setup>[],
  setup: Setup,
): void {
  describe(title, () => {
    for (const check of checks) it(check.title, () => check.run(setup));
  });
}

/** A signal for one contract call: generous, so a slow machine is not mistaken for a hang. */
export const callSignal = (): AbortSignal => AbortSignal.timeout(30_000);

/**
 * Settles with what `promise` settled with, or `"hung"` when it has not settled after
 * `timeoutMs` (the timer is cleared either way).
 */
export async function settleWithin<T>(
  promise: Promise<T>,
  timeoutMs: number,
): Promise<{ readonly value: T } | { readonly error: unknown } | "hung"> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), timeoutMs);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
