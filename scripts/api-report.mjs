#!/usr/bin/env node
// The public API of every package, as api-extractor reports it from the built declarations:
// one checked-in `api/<package>[-<entry>].api.md` per export entry point (`.`, `./testing`).
//
//   node scripts/api-report.mjs          # write the reports (after `pnpm build`)
//   node scripts/api-report.mjs --check  # fail when a report is stale (run by `pnpm lint`)
//   node scripts/api-report.mjs --check core gitops   # only these packages
//
// A change to what a package exports shows up in review as a diff of its report; `--check`
// fails CI when the code changed and the report was not written again.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Extractor, ExtractorConfig } from "@microsoft/api-extractor";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");
const only = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const reportFolder = join(root, "api");

/** Every export entry point with declarations: `{ pkgDir, name, subpath, types }`. */
function entryPoints() {
  const entries = [];
  for (const dir of readdirSync(join(root, "packages")).sort()) {
    if (only.length > 0 && !only.includes(dir)) continue;
    const pkgDir = join(root, "packages", dir);
    const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
    for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
      if (typeof target !== "object" || typeof target.types !== "string") continue;
      const suffix = subpath === "." ? "" : `-${subpath.slice(2).replaceAll("/", "-")}`;
      entries.push({ pkgDir, name: pkg.name, report: `${dir}${suffix}`, types: join(pkgDir, target.types) });
    }
  }
  return entries;
}

async function main() {
  const temp = await mkdtemp(join(tmpdir(), "selfheal-api-"));
  if (!check) await mkdir(reportFolder, { recursive: true });
  const problems = [];
  try {
    for (const entry of entryPoints()) {
      if (!existsSync(entry.types)) {
        problems.push(`${entry.name}: ${entry.types} is missing: run \`pnpm build\` first`);
        continue;
      }
      const config = ExtractorConfig.prepare({
        configObject: {
          projectFolder: entry.pkgDir,
          mainEntryPointFilePath: entry.types,
          compiler: {
            overrideTsconfig: {
              compilerOptions: {
                target: "es2023",
                lib: ["es2023"],
                module: "nodenext",
                moduleResolution: "nodenext",
                types: ["node"],
                strict: true,
                skipLibCheck: true,
              },
              files: [entry.types],
            },
          },
          apiReport: { enabled: true, reportFileName: entry.report, reportFolder, reportTempFolder: temp },
          docModel: { enabled: false },
          dtsRollup: { enabled: false },
          tsdocMetadata: { enabled: false },
          messages: {
            // The report is the point here; TSDoc style and release tags are not enforced.
            compilerMessageReporting: { default: { logLevel: "warning" } },
            extractorMessageReporting: {
              default: { logLevel: "none" },
              "ae-missing-release-tag": { logLevel: "none", addToApiReportFile: false },
            },
            tsdocMessageReporting: { default: { logLevel: "none" } },
          },
        },
        configObjectFullPath: undefined,
        packageJsonFullPath: join(entry.pkgDir, "package.json"),
      });
      const result = Extractor.invoke(config, { localBuild: !check, messageCallback: quiet });
      if (check && result.apiReportChanged) {
        problems.push(`api/${entry.report}.api.md is stale: the public API of ${entry.name} changed`);
      } else if (!result.succeeded) {
        problems.push(`${entry.name}: api-extractor failed (${result.errorCount} errors)`);
      }
    }
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  if (problems.length > 0) {
    console.error(
      `api-report:\n  ${problems.join("\n  ")}\n` +
        "If the change is intended: `pnpm build && node scripts/api-report.mjs`, and commit api/.",
    );
    return 1;
  }
  console.log(`api-report: ${check ? "every report is current" : `reports written to ${reportFolder}`}`);
  return 0;
}

/** Keeps api-extractor's per-file chatter out of the output; errors still count. */
function quiet(message) {
  if (message.logLevel === "error") console.error(message.text);
  message.handled = message.logLevel !== "error";
}

process.exitCode = await main();
