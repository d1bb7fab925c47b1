import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { Decision, DecisionInput, decideBuiltin, JsonObject } from "../src/index.js";

/** Settings a case decides under: the built-in policy's, the same keys as the Rego's `data.selfheal.config`. */
const CaseSettings = z.strictObject({
  errorRateThreshold: z.number().exactOptional(),
  restartThreshold: z.union([z.number(), z.literal(false)]).exactOptional(),
  cpuThreshold: z.number().exactOptional(),
  maxRollbacks: z.number().exactOptional(),
  rollbackWindowMs: z.number().exactOptional(),
  scaleStep: z.number().exactOptional(),
});

/**
 * The decision corpus: labelled scenarios shared by the built-in policy (here) and the shipped Rego
 * policy (`packages/adapter-opa/policies/selfheal_test.rego` is generated from the same file).
 */
const CorpusCase = z.strictObject({
  name: z.string().min(1),
  /** Which known trap of the seed policy the case exercises, if any. */
  trap: z.string().optional(),
  settings: CaseSettings.optional(),
  input: z.unknown(),
  expected: z.strictObject({
    action: z.string(),
    reason_contains: z.string().min(1).optional(),
    escalate: z.boolean().optional(),
    params: JsonObject.optional(),
  }),
});
const Corpus = z.strictObject({ description: z.string(), cases: z.array(CorpusCase) });

const corpusUrl = new URL("./fixtures/decision-corpus.json", import.meta.url);
const corpus = Corpus.parse(JSON.parse(await readFile(corpusUrl, "utf8")));

/** Traps the corpus must cover: each one a defect of the seed policy or an edge that hid one. */
const requiredTraps = [
  "both_rules_true",
  "missing_metrics",
  "history_at_limit",
  "history_below_limit",
  "resolved_before_action",
  "stale_trigger",
  "no_previous_version",
  "replicas_at_max",
  "quarantined_previous",
  "unknown_alertname",
  "severity_not_critical",
  "error_rate_at_threshold",
  "truncated_notification",
  "hpa_bounds",
  "odd_labels",
];

describe("decision corpus", () => {
  it("has at least 100 uniquely named cases covering every trap", () => {
    expect(corpus.cases.length).toBeGreaterThanOrEqual(100);
    const names = corpus.cases.map((entry) => entry.name);
    expect(new Set(names).size).toBe(names.length);
    const traps = new Set(corpus.cases.map((entry) => entry.trap));
    expect(requiredTraps.filter((trap) => !traps.has(trap))).toEqual([]);
  });

  it("holds only complete inputs, unchanged by the schema (no defaults filled in)", () => {
    for (const entry of corpus.cases) {
      const parsed = DecisionInput.safeParse(entry.input);
      expect(parsed.success, `${entry.name}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      expect(parsed.data, entry.name).toEqual(entry.input);
    }
  });

  it.each(corpus.cases)("builtin policy: $name", ({ input, expected, settings }) => {
    const decision = decideBuiltin(DecisionInput.parse(input), settings);
    expect(Decision.parse(decision)).toEqual(decision);
    expect(decision.action).toBe(expected.action);
    if (expected.escalate !== undefined) expect(decision.escalate).toBe(expected.escalate);
    if (expected.reason_contains !== undefined) expect(decision.reason).toContain(expected.reason_contains);
    if (expected.params !== undefined) expect(decision.params).toEqual(expected.params);
  });
});
