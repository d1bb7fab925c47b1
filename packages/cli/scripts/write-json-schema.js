// Writes the JSON Schema of selfheal.yaml (`schema/selfheal-config.schema.json`) from the built
// package, for editors. Run after `tsc -b`: `pnpm --filter @selfheal/cli schema`.
import { mkdir, writeFile } from "node:fs/promises";
import { configJsonSchema } from "../dist/index.js";

const schemaDir = new URL("../schema/", import.meta.url);
const target = new URL("selfheal-config.schema.json", schemaDir);
await mkdir(schemaDir, { recursive: true });
await writeFile(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target.pathname}`);
