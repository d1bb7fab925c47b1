// Adapters written from docs/writing-adapters.md alone, held to the contract kit: a good one
// passes it, a broken one fails with a message naming the rule it broke. And the controller
// carries out an API-only plan (no file changes) instead of taking it for "nothing to do".
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Controller,
  createController,
  definePlan,
  memoryStore,
  type RemediationPlan,
  type Remediator,
  silentLogger,
  type Verifier,
  verdict,
} from "../src/index.js";
import {
  makeVerifyingIncident,
  type RemediatorHarness,
  remediatorContract,
  scriptedVerifier,
  staticPolicy,
  testRemediatorContract,
  testVerifierContract,
  type VerifierHarness,
  verifierContract,
} from "../src/testing/index.js";
import { alertSignal } from "./helpers.js";

/** A cache service's API, as the guide's remediator expects one: it remembers keys. */
function cacheApi() {
  const flushes = new Map<string, string>();
  return {
    flushes,
    async flush(service: string, key: string, signal: AbortSignal): Promise<string> {
      signal.throwIfAborted();
      const id = `flush-${flushes.size + 1}-${service}`;
      flushes.set(key, id);
      return id;
    },
    async find(key: string, signal: AbortSignal): Promise<string | undefined> {
      signal.throwIfAborted();
      return flushes.get(key);
    },
  };
}

/** Written from the guide: an API-only remediator that finds its earlier work by the key. */
function cacheFlushRemediator(
  api: ReturnType<typeof cacheApi>,
  options: { broken?: boolean } = {},
): Remediator {
  return {
    name: "cache-flush",
    actions: ["flush_cache"],
    plan: async (call) =>
      definePlan(call, {
        remediator: "cache-flush",
        summary: `flush the cache of ${call.incident.service}`,
        changes: [],
      }),
    async apply({ plan, signal }) {
      // The broken variant forgets rule 4 of the guide: it never looks for earlier work.
      const earlier = options.broken === true ? undefined : await api.find(plan.idempotencyKey, signal);
      if (earlier !== undefined) return { status: "applied", reused: true, revision: earlier };
      return {
        status: "applied",
        reused: false,
        revision: await api.flush(plan.service, plan.idempotencyKey, signal),
      };
    },
  };
}

const flushDecision = { action: "flush_cache", params: {}, reason: "stale cache", escalate: false } as const;

function cacheHarness(broken = false): () => Promise<RemediatorHarness> {
  return async () => {
    const api = cacheApi();
    return {
      remediator: cacheFlushRemediator(api, { broken }),
      decision: flushDecision,
      snapshot: async () => JSON.stringify([...api.flushes]),
    };
  };
}

/** Written from the guide: waits for recovery, and gives up when its signal aborts. */
function patientVerifier(): Verifier {
  return {
    name: "patient",
    async verify({ signal }) {
      signal.throwIfAborted();
      await sleep(10, undefined, { signal });
      return verdict("patient", "passed", "waited 10 ms", { waitedMs: 10 });
    },
  };
}

testRemediatorContract("cache flush, an API-only remediator written from the guide", cacheHarness());
testVerifierContract("patient, written from the guide", async () => ({
  verifier: patientVerifier(),
  incident: makeVerifyingIncident(),
}));

/** Runs every check and answers the messages of those that failed. */
async function failures<Setup>(
  checks: readonly { title: string; run(setup: Setup): Promise<void> }[],
  setup: Setup,
): Promise<string[]> {
  const messages: string[] = [];
  for (const check of checks) {
    await check.run(setup).catch((error: unknown) => messages.push(String(error)));
  }
  return messages;
}

describe("the contract kit names the rule a broken adapter breaks", () => {
  it("a remediator that repeats its work on a second apply", async () => {
    const messages = await failures(remediatorContract, cacheHarness(true));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(
      "rule: a second apply with the same idempotency key must return reused: true",
    );
  });

  it("a verifier that ignores its abort signal", async () => {
    const setup = async (): Promise<VerifierHarness> => ({
      verifier: scriptedVerifier(["passed"]),
      incident: makeVerifyingIncident(),
    });
    const messages = await failures(verifierContract, setup);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain("rule: a verifier whose signal is aborted rejects");
  });

  it("a verifier that looks at its signal only before it starts waiting", async () => {
    const released = new AbortController(); // lets the stuck verifier go once the check is done
    const stuck: Verifier = {
      name: "stuck",
      async verify({ signal }) {
        signal.throwIfAborted();
        // Waits on its own, deaf to the signal it was given.
        await sleep(600_000, undefined, { signal: released.signal }).catch(() => undefined);
        return verdict("stuck", "passed", "too late");
      },
    };
    try {
      const messages = await failures(verifierContract.slice(2), async () => ({
        verifier: stuck,
        incident: makeVerifyingIncident(),
      }));
      expect(messages).toHaveLength(1);
      expect(messages[0]).toContain("rule: a verifier stops waiting when its signal aborts");
    } finally {
      released.abort();
    }
  });
});

describe("the controller and plans without file changes", () => {
  const open: Controller[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close({ timeout: 1000 })));
  });

  async function run(
    remediator: Remediator,
  ): Promise<{ state: string | undefined; reason: string | undefined }> {
    const c = createController({
      store: memoryStore(),
      policy: staticPolicy(flushDecision),
      remediate: remediator,
      logger: silentLogger,
      guardrails: { cooldown: 0 },
    });
    open.push(c);
    await c.handle([alertSignal()]);
    await c.settled();
    const [incident] = await c.store.listIncidents();
    return { state: incident?.state, reason: incident?.closeReason };
  }

  it("carries out an API-only plan (changes: []) once", async () => {
    const api = cacheApi();
    const { state } = await run(cacheFlushRemediator(api));
    expect(state).toBe("resolved");
    expect([...api.flushes.values()]).toEqual(["flush-1-checkout"]);
  });

  it("records a plan that says noop as no_action and never applies it", async () => {
    let applied = 0;
    const { state, reason } = await run({
      name: "noop",
      actions: ["flush_cache"],
      plan: async (call) =>
        definePlan(call, { remediator: "noop", summary: "cache already empty", noop: true }),
      apply: async () => {
        applied++;
        return { status: "applied" };
      },
    });
    expect({ state, reason, applied }).toEqual({
      state: "no_action",
      reason: "nothing to change: cache already empty",
      applied: 0,
    });
  });

  it("escalates a plan that says noop and lists changes, without applying it", async () => {
    let applied = 0;
    const { state, reason } = await run({
      name: "confused",
      actions: ["flush_cache"],
      plan: async (call): Promise<RemediationPlan> => ({
        ...definePlan(call, {
          remediator: "confused",
          summary: "s",
          changes: [{ target: "a", description: "b" }],
        }),
        noop: true,
      }),
      apply: async () => {
        applied++;
        return { status: "applied" };
      },
    });
    expect(state).toBe("escalated");
    expect(reason).toContain("the plan says noop (nothing to do) but lists 1 change(s)");
    expect(applied).toBe(0);
  });
});
