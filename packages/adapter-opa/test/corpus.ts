import { readFile } from "node:fs/promises";
import { type BuiltinPolicySettings, DecisionInput, JsonObject } from "@selfheal/core";
import { z } from "zod";

/** The decision corpus shared with the built-in policy's tests and the generated Rego tests. */
export const corpusUrl = new URL("../../core/test/fixtures/decision-corpus.json", import.meta.url);

/** The built-in policy's settings, the same keys as the Rego's `data.selfheal.config`. */
const CaseSettings = z.strictObject({
  errorRateThreshold: z.number().exactOptional(),
  restartThreshold: z.union([z.number(), z.literal(false)]).exactOptional(),
  cpuThreshold: z.number().exactOptional(),
  maxRollbacks: z.number().exactOptional(),
  rollbackWindowMs: z.number().exactOptional(),
  scaleStep: z.number().exactOptional(),
});

const Corpus = z.object({
  cases: z.array(
    z.object({
      name: z.string(),
      settings: CaseSettings.optional(),
      input: DecisionInput,
      expected: z.object({
        action: z.string(),
        escalate: z.boolean().optional(),
        reason_contains: z.string().optional(),
        params: JsonObject.optional(),
      }),
    }),
  ),
});
export type Corpus = z.infer<typeof Corpus>;
export type CorpusCase = Corpus["cases"][number];

/** Settings unlike every default, for running the whole corpus under other settings on both sides. */
export const otherSettings = {
  errorRateThreshold: 0.1,
  restartThreshold: false,
  cpuThreshold: 0.9,
  maxRollbacks: 1,
  rollbackWindowMs: 5_400_000,
  scaleStep: 2,
} as const satisfies BuiltinPolicySettings;

export async function loadCorpus(): Promise<Corpus> {
  return Corpus.parse(JSON.parse(await readFile(corpusUrl, "utf8")));
}

export async function loadCorpusInputs(): Promise<DecisionInput[]> {
  return (await loadCorpus()).cases.map((entry) => entry.input);
}
