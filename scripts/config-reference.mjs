// Writes docs/configuration.md, the reference of `selfheal.yaml`, from the config's JSON Schema
// (packages/cli/schema/selfheal-config.schema.json, written by `pnpm build` from the zod schema),
// so the reference is never written twice. `--check` exits 1 when the committed file is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const schemaPath = `${root}packages/cli/schema/selfheal-config.schema.json`;
const outPath = `${root}docs/configuration.md`;

const schema = JSON.parse(readFileSync(schemaPath, "utf8"));

/** The type of a schema in a few words. */
function typeOf(node) {
  if (node === undefined) return "";
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.enum !== undefined) return node.enum.map((value) => JSON.stringify(value)).join(" \\| ");
  if (node.anyOf !== undefined) return [...new Set(node.anyOf.map(typeOf))].join(" \\| ");
  if (node.oneOf !== undefined) return [...new Set(node.oneOf.map(typeOf))].join(" \\| ");
  if (Array.isArray(node.type)) return node.type.join(" \\| ");
  if (node.type === "array") return `${typeOf(node.items)}[]`;
  if (node.type === "object" && node.properties === undefined && node.additionalProperties !== undefined) {
    return `map of ${typeOf(node.additionalProperties) || "any"}`;
  }
  if (node.type === "integer") return "integer";
  return node.type ?? "any";
}

/** Objects a key may hold (directly or as one branch of a union), for their keys to be listed. */
function objectsOf(node) {
  if (node === undefined) return [];
  if (node.type === "object" && node.properties !== undefined) return [node];
  return [...(node.anyOf ?? []), ...(node.oneOf ?? [])].flatMap(objectsOf);
}

const rows = [];
function walk(node, path) {
  for (const object of objectsOf(node)) {
    const required = new Set(object.required ?? []);
    for (const [key, child] of Object.entries(object.properties)) {
      const keyPath = path === "" ? key : `${path}.${key}`;
      const description = (child.description ?? "").replace(/\s+/g, " ").replaceAll("|", "\\|").trim();
      rows.push(`| \`${keyPath}\` | ${typeOf(child)} | ${required.has(key) ? "yes" : ""} | ${description} |`);
      walk(child.type === "array" ? child.items : child, child.type === "array" ? `${keyPath}[]` : keyPath);
    }
  }
}
walk(schema, "");

const text = [
  "# Configuration reference: `selfheal.yaml`",
  "",
  "Generated from the config's JSON Schema by `node scripts/config-reference.mjs` (after `pnpm build`);",
  "do not edit by hand. The schema itself ships as `@selfheal/cli/schema/selfheal-config.schema.json`",
  "for editors (`# yaml-language-server: $schema=...`). A complete example with comments is",
  "[packages/cli/selfheal.example.yaml](../packages/cli/selfheal.example.yaml). `$" + "{VAR}` is replaced",
  'by the environment variable; durations are strings such as `"30s"` or `"5m"`; unknown keys are errors.',
  "",
  schema.description === undefined ? "" : `${schema.description.replace(/\s+/g, " ").trim()}\n`,
  "| key | type | required | meaning |",
  "|---|---|---|---|",
  ...rows,
  "",
].join("\n");

if (process.argv.includes("--check")) {
  const current = (() => {
    try {
      return readFileSync(outPath, "utf8");
    } catch {
      return "";
    }
  })();
  if (current !== text) {
    console.error("docs/configuration.md is out of date: run `node scripts/config-reference.mjs`");
    process.exit(1);
  }
} else {
  writeFileSync(outPath, text);
  console.log(`wrote ${outPath} (${rows.length} keys)`);
}
