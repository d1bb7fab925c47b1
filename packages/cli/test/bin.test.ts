import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  binaryAvailable,
  prometheusBinary,
  type RunningServer,
  startPrometheus,
} from "@selfheal/adapter-prometheus/testing";
import { type GitHttpServer, startGitHttpServer } from "@selfheal/gitops/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess, startRun } from "./cli-harness.js";
import { checkoutConfigRepo } from "./config-repo.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
const payloadFile = fileURLToPath(
  new URL("../../../../shared/contracts/alertmanager-webhook-example.json", import.meta.url),
);
// Outside CI a machine without Prometheus skips the replay; in CI the missing binary fails the run.
const noPrometheus = !(await binaryAvailable(prometheusBinary())) && process.env.CI !== "true";

/** Run the built `selfheal` as a child process. */
async function selfheal(args: readonly string[], cwd: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      cwd,
      env: { PATH: process.env.PATH },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

async function refsOf(path: string): Promise<string> {
  return (await run("git", ["--git-dir", path, "for-each-ref"])).stdout;
}

let folder: string;

beforeAll(async () => {
  await run("pnpm", ["exec", "tsc", "-b", "packages/cli"], { cwd: root });
  folder = await mkdtemp(join(tmpdir(), "selfheal-cli-bin-"));
}, 120_000);

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("selfheal --help", () => {
  for (const command of ["run", "replay", "audit", "policy", "check", "schema", "demo"]) {
    it(`${command} --help prints its usage and the exit codes`, async () => {
      const answer = await selfheal([command, "--help"], folder);
      expect(answer.code).toBe(0);
      expect(answer.stdout).toContain(`Usage: selfheal ${command}`);
      expect(answer.stdout).toContain("2  bad usage or invalid config");
    });
  }

  it("lists every command, and answers 2 to an unknown command or option", async () => {
    const help = await selfheal(["--help"], folder);
    expect(help.code).toBe(0);
    for (const command of ["run", "replay", "audit", "policy eval", "demo"])
      expect(help.stdout).toContain(`  ${command} `);
    expect(await selfheal(["fly"], folder)).toMatchObject({ code: 2 });
    const option = await selfheal(["audit", "--colour"], folder);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("--colour");
    expect((await selfheal([], folder)).code).toBe(2);
  });
});

describe.skipIf(noPrometheus)("selfheal replay", () => {
  let server: GitHttpServer;
  let prometheus: RunningServer;
  let repo: { url: string; path: string };
  let work: string;

  beforeAll(async () => {
    [server, prometheus] = await Promise.all([startGitHttpServer(), startPrometheus()]);
    repo = await checkoutConfigRepo(server, "replay-config");
    work = join(folder, "replay");
    await rm(work, { recursive: true, force: true });
    await mkdir(work);
    await copyFile(payloadFile, join(work, "payload.json"));
    await writeFile(
      join(work, "selfheal.yaml"),
      [
        "enrich:",
        "  prometheus:",
        `    url: ${prometheus.url}`,
        // Constant answers from a real Prometheus: the metrics of a bad release.
        '    queries: { error_rate: "vector(0.2)", restart_count: "vector(5)", cpu_usage: null }',
        "    levelCheck: false",
        "policy:",
        "  builtin: {}",
        "remediate:",
        "  gitops:",
        `    repo: { url: "${repo.url}", dir: state/config-repo }`,
        '    locate: { globs: ["apps/**/*.yaml"] }',
        "notify:",
        "  webhook: { url: http://127.0.0.1:1/never-called }",
        "store:",
        "  file: { dir: state }",
        "",
      ].join("\n"),
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all([server?.close(), prometheus?.stop()]);
  });

  it("--json prints the decision and the exact diff, and writes nothing anywhere", async () => {
    const before = await refsOf(repo.path);
    const answer = await selfheal(["replay", "--config", "selfheal.yaml", "--json", "payload.json"], work);
    expect(answer.stderr).not.toContain('"level":"error"');
    expect(answer.code).toBe(0);
    const report = JSON.parse(answer.stdout) as {
      dryRun: boolean;
      incidents: {
        service: string;
        decisionInput: { metrics: Record<string, number>; deployment: { image: string } };
        decision: { action: string; reason: string };
        guardrails: { verdict: string };
        plan: { changes: { target: string; diff: string }[]; changeRequest: { title: string; body: string } };
      }[];
    };
    expect(report.dryRun).toBe(true);
    expect(report.incidents).toHaveLength(1);
    const [incident] = report.incidents;
    expect(incident?.service).toBe("checkout");
    expect(incident?.decisionInput.metrics).toEqual({ error_rate: 0.2, restart_count: 5 });
    expect(incident?.decisionInput.deployment.image).toBe("registry.example.com/checkout:v1.2.0");
    expect(incident?.decision.action).toBe("rollback");
    expect(incident?.guardrails.verdict).toBe("allowed");
    const change = incident?.plan.changes[0];
    expect(change?.target).toBe("apps/checkout/deployment.yaml");
    expect(change?.diff).toContain('-          image: "registry.example.com/checkout:v1.2.0"  # keep quoted');
    expect(change?.diff).toContain('+          image: "registry.example.com/checkout:v1.1.0"  # keep quoted');
    expect(incident?.plan.changeRequest.title).toContain("checkout");
    expect(incident?.plan.changeRequest.body.length).toBeGreaterThan(0);
    // Nothing written: the repo's refs are the same, no state folder, no clone left behind.
    expect(await refsOf(repo.path)).toBe(before);
    expect(existsSync(join(work, "state"))).toBe(false);
    expect((await readdir(work)).sort()).toEqual(["payload.json", "selfheal.yaml"]);
  });

  it("prints the same for people, with progress on stderr", async () => {
    const answer = await runInProcess(["replay", "-c", "selfheal.yaml", "payload.json"], { cwd: work });
    expect(answer.code).toBe(0);
    expect(answer.stdout).toContain("== decision\nrollback: ");
    expect(answer.stdout).toContain("== guardrails\nallowed: every guardrail passed");
    expect(answer.stdout).toContain("== diff apps/checkout/deployment.yaml\n");
    // Plain git commits directly: the output says so and does not talk about a change request.
    expect(answer.stdout).toContain("== commit\ndirect commit to main\n");
    expect(answer.stdout).not.toContain("== change request");
    // The headline agrees with the decision (a replay is a dry run, not a suppressed incident).
    expect(answer.stdout).toMatch(
      /^Incident \S+ \(checkout \/ HighErrorRate\): would rollback \(dry run: nothing written\)$/m,
    );
    expect(answer.stderr).toMatch(/✓ fetching .* into a temporary folder/);
    expect(existsSync(join(work, "state"))).toBe(false);
  });

  it("answers 2 for a payload that is not an Alertmanager payload", async () => {
    await writeFile(join(work, "bad.json"), JSON.stringify({ version: "3", alerts: [] }));
    const answer = await runInProcess(["replay", "-c", "selfheal.yaml", "bad.json"], { cwd: work });
    await rm(join(work, "bad.json"));
    expect(answer.code).toBe(2);
    expect(answer.stderr).toContain("version");
  });
});

describe("selfheal run", () => {
  it("serves /readyz from the built binary and stops with exit code 0 on SIGTERM", async () => {
    const work = join(folder, "run");
    await mkdir(work, { recursive: true });
    await writeFile(
      join(work, "selfheal.yaml"),
      "listen: { host: 127.0.0.1, port: 0 }\npolicy: { builtin: {} }\nstore: { file: { dir: state, fsync: false } }\n",
    );
    const run = startRun(work);
    try {
      const url = await run.listening();
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
    } finally {
      run.child.kill("SIGTERM");
    }
    expect(await run.exited, run.output.stderr).toBe(0);
    expect(existsSync(join(work, "state"))).toBe(true);
  }, 60_000);
});

describe("selfheal demo", () => {
  it("runs the repository's built demo, or says how to run it", async () => {
    const built = existsSync(join(root, "examples", "dist", "demo.js"));
    const answer = await runInProcess(["demo"], { cwd: folder, env: { PATH: process.env.PATH } });
    if (built) {
      expect(answer.stderr).toContain("examples/dist/demo.js");
      expect(answer.code, answer.stderr).toBe(0);
      expect(answer.stdout.length).toBeGreaterThan(0);
    } else {
      expect(answer.code).toBe(1);
      expect(answer.stderr).toContain("pnpm demo");
    }
    // The whole demo loop runs in here (examples/test/demo.test.ts gives it as long).
  }, 90_000);
});
