// Writes the JSON Schemas shipped for policy authors (`schema/*.json`) from the built package.
// Run after `tsc -b`: `pnpm --filter @selfheal/core schema`.
import { mkdir, writeFile } from "node:fs/promises";
import { decisionInputJsonSchema, decisionJsonSchema } from "../dist/index.js";

const schemaDir = new URL("../schema/", import.meta.url);
const documents = {
  "decision-input.json": decisionInputJsonSchema(),
  "decision.json": decisionJsonSchema(),
};

await mkdir(schemaDir, { recursive: true });
for (const [file, document] of Object.entries(documents)) {
  const target = new URL(file, schemaDir);
  await writeFile(target, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`wrote ${target.pathname}`);
}
