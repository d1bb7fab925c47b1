import { BadInputError, type BuiltinPolicySettings, type Decision, decideBuiltin } from "@selfheal/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpaPolicy, opaPolicy } from "../src/index.js";
import { opaGate, type RunningOpa, shippedPolicyFile, startOpa } from "../src/testing/index.js";
import { type CorpusCase, loadCorpus, otherSettings } from "./corpus.js";

// Every corpus case decided by the shipped Rego in a real `opa run --server`, asked through the
// adapter's REST client, and by the built-in TypeScript policy: the two must give the same
// decision (action, params, escalate and the very same reason), and both must match the label.
const gate = await opaGate();
const corpus = await loadCorpus();
const call = () => ({ signal: AbortSignal.timeout(20_000) });

/** One OPA per settings set; the defaults' server has no data document at all. */
function settingsKey(settings: BuiltinPolicySettings | undefined): string {
  return JSON.stringify(settings ?? {});
}

interface Server {
  readonly opa: RunningOpa;
  readonly policy: OpaPolicy;
}

async function serve(settings: BuiltinPolicySettings | undefined): Promise<Server> {
  const data = settings === undefined ? undefined : { selfheal: { config: settings } };
  const opa = await startOpa({ files: [shippedPolicyFile], ...(data === undefined ? {} : { data }) });
  return { opa, policy: opaPolicy({ url: opa.url, retries: 0, timeoutMs: 10_000 }) };
}

async function close(servers: Iterable<Server>): Promise<void> {
  for (const server of servers) {
    await server.policy.close();
    await server.opa.stop();
  }
}

/** The decision without OPA's decision id (there is none with decision logging off). */
function comparable(decision: Decision): Decision {
  const { decision_id: _id, ...rest } = decision;
  return rest;
}

function expectLabel(decision: Decision, expected: CorpusCase["expected"], who: string): void {
  expect(decision.action, who).toBe(expected.action);
  if (expected.escalate !== undefined) expect(decision.escalate, who).toBe(expected.escalate);
  if (expected.params !== undefined) expect(decision.params, who).toEqual(expected.params);
  if (expected.reason_contains !== undefined)
    expect(decision.reason, who).toContain(expected.reason_contains);
}

describe.skipIf(gate.skip)(
  `corpus agreement through a real OPA server${gate.skip ? ` (${gate.why})` : ""}`,
  () => {
    const servers = new Map<string, Server>();
    // About a dozen servers, started together; a loaded machine may need more than the default
    // hook time for all of them.
    beforeAll(async () => {
      const sets = new Map(corpus.cases.map((entry) => [settingsKey(entry.settings), entry.settings]));
      const started = await Promise.allSettled(
        [...sets].map(async ([key, settings]) => servers.set(key, await serve(settings))),
      );
      const failed = started.find(
        (outcome): outcome is PromiseRejectedResult => outcome.status === "rejected",
      );
      if (failed !== undefined) throw failed.reason;
    }, 120_000);
    afterAll(() => close(servers.values()));

    it("covers at least 100 cases, some under their own settings", () => {
      expect(corpus.cases.length).toBeGreaterThanOrEqual(100);
      expect(servers.size).toBeGreaterThan(3);
    });

    it.each(corpus.cases)("$name", async (entry) => {
      const server = servers.get(settingsKey(entry.settings)) as Server;
      const fromOpa = await server.policy.decide(entry.input, call());
      const builtin = decideBuiltin(entry.input, entry.settings);
      expect(comparable(fromOpa)).toEqual(builtin);
      expectLabel(fromOpa, entry.expected, "OPA");
      expectLabel(builtin, entry.expected, "builtin");
    });
  },
);

describe.skipIf(gate.skip)("the whole corpus under other settings, on both sides", () => {
  let server: Server;
  beforeAll(async () => {
    server = await serve(otherSettings);
  });
  afterAll(() => close([server]));

  it("gives the same decision for every input, and the settings change some", async () => {
    let changed = 0;
    for (const entry of corpus.cases) {
      const fromOpa = await server.policy.decide(entry.input, call());
      const builtin = decideBuiltin(entry.input, otherSettings);
      expect(comparable(fromOpa), entry.name).toEqual(builtin);
      if (builtin.reason !== decideBuiltin(entry.input, entry.settings).reason) changed++;
    }
    // The settings must matter, or this block would prove nothing beyond the default run.
    expect(changed).toBeGreaterThan(corpus.cases.length / 3);
  });
});

describe.skipIf(gate.skip)(
  "the whole corpus under other settings, in batches through selfheal/decisions",
  () => {
    let server: Server;
    let batched: OpaPolicy;
    beforeAll(async () => {
      server = await serve(otherSettings);
      // One request at a time: every decision asked while one is out waits and goes in the next.
      batched = opaPolicy({
        url: server.opa.url,
        retries: 0,
        timeoutMs: 30_000,
        batch: { path: "selfheal/decisions", maxRequests: 1, maxSize: 16 },
      });
    });
    afterAll(async () => {
      await batched.close();
      await close([server]);
    });

    it("gives every input the decision it gets alone", async () => {
      const answers = await Promise.all(corpus.cases.map((entry) => batched.decide(entry.input, call())));
      answers.forEach((answer, index) => {
        const entry = corpus.cases[index] as CorpusCase;
        expect(comparable(answer), entry.name).toEqual(decideBuiltin(entry.input, otherSettings));
      });
    });
  },
);

describe.skipIf(gate.skip)("settings out of range", () => {
  let server: Server;
  const bad = { scaleStep: 0, restartThreshold: "3", rollbackWindow: "30m" };
  beforeAll(async () => {
    server = await serve(bad as unknown as BuiltinPolicySettings);
  });
  afterAll(() => close([server]));

  it("fail closed in OPA, naming each problem; the built-in policy refuses them at creation", async () => {
    const [first] = corpus.cases;
    if (first === undefined) throw new Error("empty corpus");
    const decision = await server.policy.decide(first.input, call());
    expect(decision).toMatchObject({ action: "none", params: {}, escalate: true });
    expect(decision.reason).toContain("policy selfheal: data.selfheal.config is not usable");
    expect(decision.reason).toContain("scaleStep must be an integer ≥ 1, got 0");
    expect(decision.reason).toContain('restartThreshold must be a finite number or false, got "3"');
    expect(decision.reason).toContain("unknown setting rollbackWindow");
    expect(() => decideBuiltin(first.input, { scaleStep: 0 })).toThrow(BadInputError);
    expect(() => decideBuiltin(first.input, { scaleStep: 0 })).toThrow(
      "scaleStep must be an integer ≥ 1, got 0",
    );
  });
});
