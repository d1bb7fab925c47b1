import { type AddressInfo, createServer } from "node:net";
import { afterEach } from "vitest";
import { type OpaPolicy, type OpaPolicySettings, OpaUnavailableError, opaPolicy } from "../src/index.js";
import { loadOpaSpec, type OpaStandIn, type StandInOptions, startOpaStandIn } from "./opa-stand-in.js";

export const path = "selfheal/decision";
export const call = () => ({ signal: AbortSignal.timeout(10_000) });

const spec = await loadOpaSpec();

/**
 * Stand-ins and policies made by the helpers below are checked and closed after each test:
 * a request the spec does not define, or an unused expectation, fails the test.
 */
export function useOpaStandIns(): {
  standIn(options?: StandInOptions): Promise<OpaStandIn>;
  policy(url: string, settings?: Partial<OpaPolicySettings>): OpaPolicy;
} {
  const standIns: OpaStandIn[] = [];
  const policies: OpaPolicy[] = [];
  afterEach(async () => {
    for (const created of policies.splice(0)) await created.close();
    const open = standIns.splice(0);
    try {
      for (const standIn of open) standIn.verify();
    } finally {
      for (const standIn of open) await standIn.close();
    }
  });
  return {
    async standIn(options = {}) {
      const started = await startOpaStandIn(spec, options);
      standIns.push(started);
      return started;
    },
    policy(url, settings = {}) {
      const created = opaPolicy({ url, path, retryDelayMs: 10, ...settings });
      policies.push(created);
      return created;
    },
  };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The `OpaUnavailableError` a decision rejected with (the test fails if it resolved or threw another). */
export async function unavailable(decision: Promise<unknown>): Promise<OpaUnavailableError> {
  const outcome = await decision.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome))
    throw new Error(`expected OpaUnavailableError, got ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof OpaUnavailableError)) throw outcome.error;
  if (!outcome.error.retryable) throw new Error("OpaUnavailableError must be retryable");
  return outcome.error;
}

/**
 * An answer held back until the test releases it: a stand-in answer awaiting `promise` comes
 * only after the policy under test gave up, so its timeout is shown to fire without racing a timer.
 */
export function hold(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}
