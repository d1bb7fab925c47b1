#!/usr/bin/env node
// Type-checks every TypeScript snippet in the READMEs and docs, so the docs cannot drift from
// the code: `node scripts/check-snippets.mjs [doc.md ...]` (default: every README and docs/*.md).
//
// Each ```ts block becomes a module of its own in a scratch folder, compiled with the project's
// strict settings; `@selfheal/*` imports resolve to the workspace sources (as in the tests), so
// no build is needed. A block opened with ```ts file=name.ts is written as `name.ts`, so later
// blocks of the same document can import `./name.js`. A block that is deliberately partial
// opens with ```ts fragment and is skipped: keep that rare. Errors are reported as doc:line.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The docs checked by default: the READMEs and every page under docs/. */
function defaultDocs() {
  const docs = ["README.md", "examples/README.md", "bench/README.md"];
  for (const dir of readdirSync(join(root, "packages"))) docs.push(`packages/${dir}/README.md`);
  for (const file of readdirSync(join(root, "docs"))) if (file.endsWith(".md")) docs.push(`docs/${file}`);
  return docs.filter((doc) => existsSync(join(root, doc)));
}

/** The ```ts blocks of a markdown text, with the line each one's code starts on (1-based). */
export function extractSnippets(text) {
  const lines = text.split("\n");
  const snippets = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|typescript)(?:\s+(.*))?$/.exec(lines[i]);
    if (open === null) continue;
    const indent = open[1].length;
    const info = open[3] ?? "";
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end])) end++;
    if (end === lines.length) throw new Error(`unclosed \`\`\`ts block opened on line ${i + 1}`);
    const file = /(?:^|\s)file=(\S+\.ts)/.exec(info)?.[1];
    snippets.push({
      line: start + 1,
      skip: /(?:^|\s)fragment(?:\s|$)/.test(info),
      ...(file === undefined ? {} : { file }),
      code: lines
        .slice(start, end)
        .map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)))
        .join("\n"),
    });
    i = end;
  }
  return snippets;
}

/** `paths` for every export of every workspace package that has a source condition. */
function workspacePaths(scratch) {
  const paths = {};
  for (const dir of readdirSync(join(root, "packages"))) {
    const pkg = JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8"));
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      const source = typeof target === "object" ? target["@selfheal/source"] : undefined;
      if (source === undefined) continue;
      const name = subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
      paths[name] = [relative(scratch, join(root, "packages", dir, source))];
    }
  }
  return paths;
}

async function main(argv) {
  const docs = argv.length > 0 ? argv : defaultDocs();
  await mkdir(join(root, "tmp"), { recursive: true });
  const scratch = await mkdtemp(join(root, "tmp", "snippets-"));
  const origin = new Map(); // scratch file → { doc, line }
  try {
    for (const doc of docs) {
      const snippets = extractSnippets(readFileSync(resolve(root, doc), "utf8"));
      const folder = join(scratch, doc.replace(/[^a-zA-Z0-9]+/g, "_"));
      await mkdir(folder, { recursive: true });
      for (const [index, snippet] of snippets.entries()) {
        if (snippet.skip) continue;
        const file = join(folder, snippet.file ?? `snippet-${index + 1}.ts`);
        // `export {}` makes every block a module, so blocks do not share a global scope.
        await writeFile(file, `${snippet.code}\nexport {};\n`);
        origin.set(relative(root, file), { doc: relative(root, resolve(root, doc)), line: snippet.line });
      }
    }
    if (origin.size === 0) {
      console.log("snippets: no ```ts blocks found");
      return 0;
    }
    const tsconfig = {
      extends: relative(scratch, join(root, "tsconfig.base.json")),
      compilerOptions: {
        composite: false,
        declaration: false,
        declarationMap: false,
        noEmit: true,
        rootDir: relative(scratch, root),
        // The workspace sources import their dependencies from their own package folders.
        paths: workspacePaths(scratch),
      },
      include: ["**/*.ts"],
    };
    await writeFile(join(scratch, "tsconfig.json"), JSON.stringify(tsconfig, null, 2));
    const tsc = join(root, "node_modules", ".bin", "tsc");
    const { failed, output } = await promisify(execFile)(tsc, ["-p", scratch, "--pretty", "false"], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      ({ stdout }) => ({ failed: false, output: stdout }),
      (error) => ({ failed: true, output: `${error.stdout ?? ""}${error.stderr ?? ""}` }),
    );
    const report = output
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => {
        const at = /^(.+?)\((\d+),(\d+)\): (.*)$/.exec(line);
        const from = at === null ? undefined : origin.get(at[1]);
        return from === undefined ? line : `${from.doc}:${from.line + Number(at[2]) - 1}:${at[3]} ${at[4]}`;
      });
    if (failed) {
      console.error(`snippets: TypeScript errors in the docs\n${report.join("\n")}`);
      return 1;
    }
    console.log(`snippets: ${origin.size} TypeScript snippets in ${docs.length} docs type-check`);
    return 0;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
