import { readFile } from "node:fs/promises";
import { DecisionInput } from "@selfheal/core";
import { z } from "zod";

/** The decision corpus shared with the built-in policy's tests and the generated Rego tests. */
export const corpusUrl = new URL("../../core/test/fixtures/decision-corpus.json", import.meta.url);

const Corpus = z.object({
  cases: z.array(
    z.object({
      name: z.string(),
      input: DecisionInput,
      expected: z.object({ action: z.string(), escalate: z.boolean().optional() }),
    }),
  ),
});
export type Corpus = z.infer<typeof Corpus>;

export async function loadCorpus(): Promise<Corpus> {
  return Corpus.parse(JSON.parse(await readFile(corpusUrl, "utf8")));
}

export async function loadCorpusInputs(): Promise<DecisionInput[]> {
  return (await loadCorpus()).cases.map((entry) => entry.input);
}
