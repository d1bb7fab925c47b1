import { execFile, execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { opaGate } from "@selfheal/adapter-opa/testing";
import { alertmanagerBinary, binaryAvailable, prometheusBinary } from "@selfheal/adapter-prometheus/testing";
import { describe, expect, it } from "vitest";

// `pnpm test` builds before it runs the tests, so the demo is run as users run it: `node dist/demo.js`.
const demo = fileURLToPath(new URL("../dist/demo.js", import.meta.url));
const binaries = [prometheusBinary(), alertmanagerBinary()];
const installed = (await Promise.all(binaries.map(binaryAvailable))).every(Boolean);
const opa = await opaGate();

/** Processes whose environment holds `marker`: every process the demo started inherits it. */
async function processesWith(marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const environment = await readFile(`/proc/${entry}/environ`, "latin1").catch(() => "");
    if (environment.split("\0").includes(marker)) found.push(entry);
  }
  return found;
}

async function runDemo(environment: Record<string, string>) {
  const run = randomUUID();
  const { stdout } = await promisify(execFile)(process.execPath, [demo], {
    timeout: 140_000,
    env: { ...process.env, ...environment, SELFHEAL_DEMO_TEST_RUN: run },
  });
  const leftovers = existsSync("/proc/self/environ")
    ? await processesWith(`SELFHEAL_DEMO_TEST_RUN=${run}`)
    : [];
  const kept = /kept after the demo \(not deleted\): (\S+)/.exec(stdout)?.[1];
  const keptFiles = kept === undefined ? [] : await readdir(kept);
  // Each commit the demo points at, as the kept clone of the config repo holds it.
  const commits = [...stdout.matchAll(/the commit: +git -C (\S+) show ([0-9a-f]{12})/g)].map((match) => ({
    files: execFileSync("git", ["-C", match[1] ?? "", "show", "--format=", "--name-only", match[2] ?? ""], {
      encoding: "utf8",
    }),
    diff: execFileSync("git", ["-C", match[1] ?? "", "show", "--format=", "--unified=0", match[2] ?? ""], {
      encoding: "utf8",
    }),
  }));
  const journals = kept === undefined ? [] : await readdir(join(kept, "state"));
  // The ledger command it prints works (run before the kept folder is removed).
  const audit = /the audit trail: node (\S+) audit --config (\S+)/.exec(stdout);
  const ledger =
    audit === null
      ? undefined
      : (JSON.parse(
          execFileSync(process.execPath, [audit[1] ?? "", "audit", "--config", audit[2] ?? "", "--json"], {
            encoding: "utf8",
          }),
        ) as unknown);
  if (kept !== undefined) await rm(kept, { recursive: true, force: true });
  return { stdout, leftovers, keptFiles, journals, ledger, commits };
}

function expectTimeline(stdout: string) {
  const stages = [
    /^HighErrorRate:$/m,
    /\+0\.000s {2}fault injected: release v1\.2\.0 pushed to main and deployed/,
    /alert: HighErrorRate firing for checkout/,
    /decision: rollback: error rate [\d.]+ > 0\.05: roll back to registry\.example\.com\/checkout:v1\.1\.0/,
    /commit: [0-9a-f]{12} \(image back to v1\.1\.0\) pushed to selfheal\//,
    /change request #1 opened: "selfheal: rollback checkout \(HighErrorRate\)"/,
    /change request #1 merged by the demo/,
    /sync: argocd-sync: checkout: Synced and Healthy at [0-9a-f]{40}/,
    /verified: error rate .*below 0\.05/,
    /incident closed: resolved/,
    /^HighCPU:$/m,
    /\+0\.000s {2}traffic surge: checkout's CPU demand rises .*its 3 replicas run at 95 % of their 1-core limit/,
    /alert: HighCPU firing for checkout/,
    /decision: scale_up: cpu usage [\d.]+ > 0\.8: scale from 3 to 4 replicas \(max 6\)/,
    /commit: [0-9a-f]{12} \(spec\.replicas 3 → 4 in apps\/checkout\/deployment\.yaml\) pushed to selfheal\//,
    /change request #2 opened: "selfheal: scale_up checkout \(HighCPU\)"/,
    /change request #2 merged by the demo/,
    /sync: argocd-sync: checkout: Synced and Healthy at [0-9a-f]{40}/,
    /verified: cpu usage .*below 0\.8/,
    /incident closed: resolved/,
  ];
  let from = 0;
  for (const stage of stages) {
    const match = stage.exec(stdout.slice(from));
    expect(match, String(stage)).not.toBeNull();
    from += (match?.index ?? 0) + (match?.[0].length ?? 0);
  }
  // Each incident's times count from its own fault, in order.
  for (const part of stdout.split(/^HighCPU:$/m)) {
    const times = [...part.matchAll(/^ {2}\+(\d+\.\d{3})s {2}/gm)].map((match) => Number(match[1]));
    expect(times.length).toBeGreaterThan(5);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  }
  expect(stdout.match(/the commit: {6}git -C \S+config-repo show [0-9a-f]{12}/g)).toHaveLength(2);
  expect(stdout).toMatch(/raw: \S+journal-\*\.ndjson/);
  expect(stdout.trimEnd().split("\n").slice(-2)).toEqual([
    expect.stringMatching(/^checkout-higherrorrate-[0-9a-f]+ resolved: MTTR [\d.]+ s$/),
    expect.stringMatching(/^checkout-highcpu-[0-9a-f]+ resolved: MTTR [\d.]+ s$/),
  ]);
}

/** The rollback commit sets the image back; the scale-up commit changes the replicas line and nothing else. */
function expectCommits(commits: readonly { files: string; diff: string }[]) {
  expect(commits).toHaveLength(2);
  const [rollback, scaleUp] = commits;
  expect(rollback?.diff).toMatch(/^-.*image: registry\.example\.com\/checkout:v1\.2\.0/m);
  expect(rollback?.diff).toMatch(/^\+.*image: registry\.example\.com\/checkout:v1\.1\.0/m);
  expect(scaleUp?.files).toBe("apps/checkout/deployment.yaml\n");
  const changed = scaleUp?.diff.split("\n").filter((line) => /^[-+](?![-+]{2} )/.test(line));
  expect(changed).toEqual(["-  replicas: 3", "+  replicas: 4"]);
}

/** Both incidents of the demo, as `selfheal audit --json` lists them. */
function expectLedger(ledger: unknown) {
  const { incidents } = ledger as { incidents: { alertname: string; action?: string; outcome: string }[] };
  expect(
    incidents
      .map(({ alertname, action, outcome }) => ({ alertname, action, outcome }))
      .sort((a, b) => a.alertname.localeCompare(b.alertname)),
  ).toEqual([
    { alertname: "HighCPU", action: "scale_up", outcome: "resolved" },
    { alertname: "HighErrorRate", action: "rollback", outcome: "resolved" },
  ]);
}

describe("the local demo", () => {
  it.skipIf(!installed && process.env.CI !== "true")(
    "runs a rollback and a scale-up with real Prometheus and Alertmanager, prints every stage and the MTTR, and stops what it started",
    { timeout: 150_000 },
    async () => {
      const { stdout, leftovers, keptFiles, journals, ledger, commits } = await runDemo({});
      expect(stdout).toContain("using: real Prometheus and Alertmanager");
      expect(stdout.match(/delivered by Alertmanager/g)).toHaveLength(2);
      expectTimeline(stdout);
      expectCommits(commits);
      expect(leftovers).toEqual([]);
      expect(keptFiles.sort()).toEqual(["config-repo", "selfheal.yaml", "state"]);
      expectLedger(ledger);
      expect(journals.some((file) => /^journal-\d+\.ndjson$/.test(file))).toBe(true);
    },
  );

  it.skipIf(opa.skip)(
    `decides through a real OPA with SELFHEAL_DEMO_POLICY=opa, and stops it${opa.skip ? ` (${opa.why})` : ""}`,
    { timeout: 150_000 },
    async () => {
      const { stdout, leftovers, ledger, commits } = await runDemo({
        SELFHEAL_DEMO_PROMETHEUS: "off",
        SELFHEAL_DEMO_POLICY: "opa",
      });
      expect(stdout).toMatch(/policy: the shipped Rego \(policies\/selfheal\.rego\) in OPA 1\.22\.4/);
      expect(stdout).toMatch(/ {2}OPA http:\/\/127\.0\.0\.1:\d+/);
      expect(stdout).toMatch(/stopped: .*, OPA/);
      expectTimeline(stdout);
      expectCommits(commits);
      expectLedger(ledger);
      expect(leftovers).toEqual([]);
    },
  );

  it("says what it used without Prometheus and still closes both loops", { timeout: 150_000 }, async () => {
    const { stdout, leftovers, ledger, commits } = await runDemo({ SELFHEAL_DEMO_PROMETHEUS: "off" });
    expect(stdout).toMatch(/using: no Prometheus\/Alertmanager .*reads the service's \/metrics itself/);
    expect(stdout.match(/delivered by the demo's scraper/g)).toHaveLength(2);
    expectTimeline(stdout);
    expectCommits(commits);
    expectLedger(ledger);
    expect(leftovers).toEqual([]);
  });
});
