// The packages as npm would publish them: every package packed with `pnpm pack`, each tarball
// checked (LICENSE, no build cache, no `workspace:` range), all of them installed with npm into
// a scratch project outside the workspace, and a small controller written against them
// type-checked (strict, skipLibCheck: false) and run: a webhook signal → a decision → an
// action → the audit trail. Needs `pnpm build` first (the tarballs carry `dist/`).
//
// Registry dependencies come through npm's cache under $SELFHEAL_TOOLS (default
// ~/.cache/selfheal-tools), so runs after the first do not download them again.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../../..");
const packageDirs = readdirSync(join(root, "packages")).filter((dir) =>
  existsSync(join(root, "packages", dir, "package.json")),
);
const tools = process.env.SELFHEAL_TOOLS ?? join(homedir(), ".cache", "selfheal-tools");
const minutes = 60_000;

interface Packed {
  readonly dir: string;
  readonly name: string;
  readonly tarball: string;
  readonly entries: readonly string[];
  readonly manifest: Record<string, unknown>;
}

let scratch = "";
let packed: Packed[] = [];

beforeAll(async () => {
  const missing = packageDirs.filter((dir) => !existsSync(join(root, "packages", dir, "dist", "index.js")));
  if (missing.length > 0) throw new Error(`run \`pnpm build\` first: no dist/ in ${missing.join(", ")}`);
  scratch = await mkdtemp(join(tmpdir(), "selfheal-packed-"));
  const tarballs = join(scratch, "tarballs");
  await mkdir(tarballs);
  packed = await Promise.all(packageDirs.map((dir) => pack(dir, tarballs)));
}, 5 * minutes);

afterAll(async () => {
  if (scratch !== "") await rm(scratch, { recursive: true, force: true });
});

async function pack(dir: string, destination: string): Promise<Packed> {
  const cwd = join(root, "packages", dir);
  const name = JSON.parse(readFileSync(join(cwd, "package.json"), "utf8")).name as string;
  const before = new Set(await readdir(destination));
  await run("pnpm", ["pack", "--pack-destination", destination], { cwd });
  const created = (await readdir(destination)).filter((file) => !before.has(file) && file.endsWith(".tgz"));
  const file = created.find((candidate) => candidate.startsWith(name.replace("@", "").replace("/", "-")));
  if (file === undefined) throw new Error(`pnpm pack of ${name} left no tarball in ${destination}`);
  const tarball = join(destination, file);
  const list = await run("tar", ["-tzf", tarball], { maxBuffer: 64 * 1024 * 1024 });
  const manifest = await run("tar", ["-xzOf", tarball, "package/package.json"]);
  return {
    dir,
    name,
    tarball,
    entries: list.stdout.split("\n").filter((line) => line !== ""),
    manifest: JSON.parse(manifest.stdout) as Record<string, unknown>,
  };
}

describe("every packed package", () => {
  it("carries the license, its README and dist/, and no build cache", () => {
    for (const { name, entries } of packed) {
      expect(entries, `${name}: LICENSE`).toContain("package/LICENSE");
      expect(entries, `${name}: README.md`).toContain("package/README.md");
      expect(entries, `${name}: dist/index.js`).toContain("package/dist/index.js");
      expect(
        entries.filter((entry) => entry.endsWith(".tsbuildinfo")),
        `${name}: no .tsbuildinfo`,
      ).toEqual([]);
    }
  });

  it("names its repository and publishes publicly, with no workspace: range left", () => {
    for (const { name, dir, manifest } of packed) {
      expect(manifest.repository, name).toEqual({
        type: "git",
        url: "git+https://github.com/selfheal/selfheal.git",
        directory: `packages/${dir}`,
      });
      expect(manifest.publishConfig, name).toEqual({ access: "public" });
      expect(manifest.license, name).toBe("Apache-2.0");
      for (const field of ["dependencies", "peerDependencies", "optionalDependencies", "devDependencies"]) {
        const ranges = Object.values((manifest[field] ?? {}) as Record<string, string>);
        expect(
          ranges.filter((range) => range.startsWith("workspace:")),
          `${name} ${field}`,
        ).toEqual([]);
      }
    }
  });

  it("adapters take the core as a peer, so an application has one core", () => {
    for (const { name, manifest } of packed) {
      if (name === "@selfheal/core" || name === "@selfheal/cli") continue;
      expect(Object.keys((manifest.dependencies ?? {}) as object), name).not.toContain("@selfheal/core");
      expect(Object.keys((manifest.peerDependencies ?? {}) as object), name).toContain("@selfheal/core");
    }
  });
});

const controllerSource = `
import type * as argocd from "@selfheal/adapter-argocd";
import type * as github from "@selfheal/adapter-github";
import type * as gitlab from "@selfheal/adapter-gitlab";
import type * as opa from "@selfheal/adapter-opa";
import { alertmanagerWebhook } from "@selfheal/adapter-prometheus";
import type * as cli from "@selfheal/cli";
import { createController, definePlan, memoryStore, type Policy, type Remediator } from "@selfheal/core";
import type * as gitops from "@selfheal/gitops";
import type * as postgres from "@selfheal/store-postgres";

// Every package's declarations are part of this program, so skipLibCheck: false checks them.
export type Everything = [typeof argocd, typeof github, typeof gitlab, typeof opa, typeof cli, typeof gitops, typeof postgres];

const restarts: string[] = [];
const policy: Policy = {
  name: "restart-on-error-rate",
  decide: (input) =>
    input.alert.labels.alertname === "HighErrorRate"
      ? { action: "restart", reason: "error rate above 5%" }
      : { action: "none", reason: "not ours" },
};
const restart: Remediator = {
  name: "restart",
  actions: ["restart"],
  plan: async (options) => definePlan(options, { remediator: "restart", summary: "restart", changes: [] }),
  apply: async ({ plan }) => {
    restarts.push(plan.service);
    return { status: "applied", reused: false, revision: "restart-1" };
  },
};

const controller = createController({
  sources: [alertmanagerWebhook({ path: "/webhook", auth: { bearer: "s3cret" } })],
  policy,
  remediate: restart,
  store: memoryStore(),
  guardrails: { cooldown: 0 },
});
const { url } = await controller.listen({ port: 0, host: "127.0.0.1" });
const alert = {
  status: "firing",
  labels: { alertname: "HighErrorRate", service: "checkout", severity: "critical" },
  annotations: {},
  startsAt: "2026-08-20T10:15:30.123Z",
  endsAt: "0001-01-01T00:00:00Z",
  generatorURL: "",
  fingerprint: "5c2a8e0f3b7d41a9",
};
const answer = await fetch(new URL("/webhook", url), {
  method: "POST",
  headers: { "content-type": "application/json", authorization: "Bearer s3cret" },
  body: JSON.stringify({
    version: "4", groupKey: "{}:{alertname=\\"HighErrorRate\\"}", truncatedAlerts: 0, status: "firing",
    receiver: "selfheal", groupLabels: {}, commonLabels: alert.labels, commonAnnotations: {},
    externalURL: "http://alertmanager:9093", alerts: [alert],
  }),
});
await controller.settled();
const [incident] = await controller.store.listIncidents();
const events = await controller.store.listEvents({ incidentId: incident?.id ?? "none" });
await controller.close();
console.log(JSON.stringify({ status: answer.status, state: incident?.state, restarts, events: events.map((e) => e.type) }));
`;

describe("installed from the tarballs with npm into a fresh project", () => {
  it(
    "type-checks a controller with skipLibCheck: false and runs it from webhook to audit trail",
    async () => {
      const project = join(scratch, "app");
      await mkdir(project);
      const rootManifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
      const dependencies = Object.fromEntries(packed.map(({ name, tarball }) => [name, `file:${tarball}`]));
      await writeFile(
        join(project, "package.json"),
        JSON.stringify({
          name: "scratch-controller",
          private: true,
          type: "module",
          dependencies: { ...dependencies, "@types/node": rootManifest.devDependencies["@types/node"] },
        }),
      );
      await writeFile(
        join(project, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2023",
            lib: ["ES2023"],
            module: "NodeNext",
            moduleResolution: "NodeNext",
            types: ["node"],
            strict: true,
            exactOptionalPropertyTypes: true,
            noUncheckedIndexedAccess: true,
            skipLibCheck: false,
            outDir: "out",
          },
          files: ["controller.ts"],
        }),
      );
      await writeFile(join(project, "controller.ts"), controllerSource);
      await run(
        "npm",
        [
          "install",
          "--no-audit",
          "--no-fund",
          "--prefer-offline",
          "--loglevel=error",
          "--cache",
          join(tools, "npm"),
        ],
        { cwd: project, maxBuffer: 16 * 1024 * 1024 },
      );
      // Not the workspace: the installed copies, one core for every adapter.
      expect(readdirSync(join(project, "node_modules", "@selfheal")).sort()).toEqual(
        packed.map(({ name }) => name.slice("@selfheal/".length)).sort(),
      );
      const nested = packageDirs.filter((dir) =>
        existsSync(join(project, "node_modules", "@selfheal", dir, "node_modules", "@selfheal", "core")),
      );
      expect(nested, "no adapter brings a core of its own").toEqual([]);

      const tsc = join(root, "node_modules", ".bin", "tsc");
      const compiled = await run(tsc, ["-p", project, "--pretty", "false"], { cwd: project }).catch(
        (error: { stdout: string; stderr: string }) => {
          throw new Error(`the scratch controller does not type-check:\n${error.stdout}${error.stderr}`);
        },
      );
      expect(compiled.stdout).toBe("");

      const { stdout } = await run(process.execPath, [join(project, "out", "controller.js")], {
        cwd: project,
      });
      expect(JSON.parse(stdout)).toEqual({
        status: 200,
        state: "resolved",
        restarts: ["checkout"],
        events: expect.arrayContaining([
          "signal.received",
          "incident.opened",
          "decision.made",
          "remediation.planned",
          "remediation.started",
          "remediation.completed",
          "incident.closed",
        ]),
      });
    },
    5 * minutes,
  );
});
