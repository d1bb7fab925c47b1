// bench/git: a one-line rollback pushed to a config repository of 100, 1,000 and 10,000
// manifest files on a local `git http-backend` server. Ours: the warm isomorphic-git
// workspace (incremental fetch + edit + direct commit + O(change) push). The simplest
// alternative, what the seed's controller did: native git fresh clone + edit + commit + push.
// The two alternate in the same run and push to the same branch, so each also fetches the
// other's commits. At 100,000 files native git runs only BENCH_NATIVE_ROUNDS_LARGE rounds
// (default 3: a fresh clone there takes minutes). Prints one JSON object as its last line.
//
//   BENCH_SIZES (default 100,1000,10000,100000), BENCH_ROUNDS (default 15)
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { openGitWorkspace, setContainerImage } from "@selfheal/gitops";
import { runGit, startGitHttpServer } from "@selfheal/gitops/testing";
import { percentile } from "../stats.js";

const sizes = (process.env.BENCH_SIZES ?? "100,1000,10000,100000").split(",").map(Number);
const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
/** From this size on, native git runs only `largeNativeRounds` rounds. */
const largeSize = 100_000;
const largeNativeRounds = Number(process.env.BENCH_NATIVE_ROUNDS_LARGE ?? 3);
const filesPerService = 3;
const warmScript = fileURLToPath(new URL("./warm-rss.js", import.meta.url));

/** A service folder: a Deployment (the file we edit), a Service and a kustomization. */
function serviceFiles(team: number, service: number, tag: string): Record<string, string> {
  const name = `svc-${team}-${service}`;
  const folder = `apps/team-${team}/${name}`;
  return {
    [`${folder}/deployment.yaml`]: deployment(name, tag),
    [`${folder}/service.yaml`]: `apiVersion: v1\nkind: Service\nmetadata:\n  name: ${name}\nspec:\n  selector:\n    app: ${name}\n  ports:\n    - port: 80\n      targetPort: 8080\n`,
    [`${folder}/kustomization.yaml`]: "resources:\n  - deployment.yaml\n  - service.yaml\n",
  };
}

function deployment(name: string, tag: string): string {
  return [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    `  name: ${name}`,
    `  labels: { app: ${name} }`,
    "spec:",
    "  replicas: 3",
    "  selector:",
    `    matchLabels: { app: ${name} }`,
    "  template:",
    "    metadata:",
    `      labels: { app: ${name} }`,
    "    spec:",
    "      containers:",
    `        - name: ${name}`,
    `          image: registry.example.com/${name}:${tag} # pinned by CI`,
    "          ports:",
    "            - containerPort: 8080",
    "",
  ].join("\n");
}

/** `files` manifest files in folders of 100 services per team. */
function buildRepo(files: number): { files: Record<string, string>; services: string[] } {
  const out: Record<string, string> = {};
  const services: string[] = [];
  const count = Math.ceil(files / filesPerService);
  for (let index = 0; index < count; index++) {
    const team = Math.floor(index / 100);
    const service = index % 100;
    Object.assign(out, serviceFiles(team, service, "v1.2.0"));
    services.push(`apps/team-${team}/svc-${team}-${service}/deployment.yaml`);
  }
  return { files: out, services };
}

/** The native alternative's commit identity (the hermetic environment has none). */
const identity = {
  GIT_AUTHOR_NAME: "seed",
  GIT_AUTHOR_EMAIL: "seed@selfheal.invalid",
  GIT_COMMITTER_NAME: "seed",
  GIT_COMMITTER_EMAIL: "seed@selfheal.invalid",
};

function git(args: string[], cwd?: string): Promise<string> {
  return runGit(args, { ...(cwd === undefined ? {} : { cwd }), env: identity });
}

const rollbackTag = (round: number) => `v1.1.${round}`;

/** The `p`th percentile of `values` in milliseconds, to a tenth. */
const percentileMs = (values: readonly number[], p: number) => Math.round(percentile(values, p) * 10) / 10;

interface SizeResult {
  ours_p50_ms: number;
  ours_p99_ms: number;
  native_p50_ms: number;
  native_p99_ms: number;
  ratio: number;
  first_clone_ms: number;
  native_rounds: number;
  /** Resident memory of this process after the warm workspace's rounds (MB). */
  rss_after_mb: number;
  /** Peak resident memory of this process so far (MB): repository generation included. */
  rss_peak_mb: number;
  /** Peak resident memory of a process holding only a warm workspace: cloned, one rollback (MB). */
  warm_rss_mb?: number;
  warm_child_clone_ms?: number;
}

async function benchSize(size: number): Promise<SizeResult> {
  const server = await startGitHttpServer();
  const scratch = await mkdtemp(join(tmpdir(), "selfheal-bench-git-"));
  try {
    const { files, services } = buildRepo(size);
    const { url } = await server.createRepo(`config-${size}`, files);
    const workspace = openGitWorkspace({ url, dir: join(scratch, "warm") });
    let started = performance.now();
    await workspace.refresh(AbortSignal.timeout(300_000));
    const firstCloneMs = performance.now() - started;

    const ours: number[] = [];
    const native: number[] = [];
    for (let round = 0; round < rounds; round++) {
      // Ours: what the remediator does for a rollback landing as a direct commit.
      const target = services[(round * 7) % services.length] as string;
      started = performance.now();
      const head = await workspace.refresh(AbortSignal.timeout(60_000));
      const text = await workspace.readFile(head, target);
      if (text === undefined) throw new Error(`${target} missing`);
      const name = target.split("/")[2] as string;
      const edit = setContainerImage(text, { image: `registry.example.com/${name}:${rollbackTag(round)}` });
      const sha = await workspace.commit({
        parent: head,
        message: `Roll back ${name}\n\nSelfheal-Incident: bench-${round}\nSelfheal-Action: rollback\n`,
        files: [{ path: target, content: edit.text }],
      });
      if (sha === undefined) throw new Error("nothing to commit");
      const status = await workspace.push(
        { ref: "refs/heads/main", oldSha: head, newSha: sha },
        AbortSignal.timeout(60_000),
      );
      if (!status.ok) throw new Error(`push refused: ${status.reason}`);
      ours.push(performance.now() - started);

      // Native, as the seed did it: fresh clone, edit, commit, push.
      if (size >= largeSize && round >= largeNativeRounds) continue;
      const other = services[(round * 7 + 3) % services.length] as string;
      const clone = join(scratch, `native-${round}`);
      started = performance.now();
      await git(["clone", "--quiet", "--branch", "main", url, clone]);
      const file = join(clone, other);
      const before = await readFile(file, "utf8");
      const otherName = other.split("/")[2] as string;
      await writeFile(
        file,
        setContainerImage(before, { image: `registry.example.com/${otherName}:${rollbackTag(round)}` }).text,
      );
      await git(["commit", "--quiet", "-am", `Roll back ${otherName}`], clone);
      await git(["push", "--quiet", "origin", "main"], clone);
      native.push(performance.now() - started);
      await rm(clone, { recursive: true, force: true });
    }
    const result = {
      ours_p50_ms: percentileMs(ours, 50),
      ours_p99_ms: percentileMs(ours, 99),
      native_p50_ms: percentileMs(native, 50),
      native_p99_ms: percentileMs(native, 99),
      ratio: 0,
      first_clone_ms: Math.round(firstCloneMs),
      native_rounds: native.length,
      rss_after_mb: Math.round(process.memoryUsage().rss / 1024 / 1024),
      rss_peak_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    result.ratio = Math.round((result.native_p50_ms / result.ours_p50_ms) * 10) / 10;
    // The warm workspace's own memory: a fresh one in a child process, cloned and used once.
    const { stdout } = await promisify(execFile)(process.execPath, [
      warmScript,
      url,
      join(scratch, "warm-child"),
      services[1 % services.length] as string,
      "v1.0.9",
    ]);
    const warm = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as { rss_mb: number; clone_ms: number };
    return { ...result, warm_rss_mb: warm.rss_mb, warm_child_clone_ms: warm.clone_ms };
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

const results: Record<string, SizeResult> = {};
for (const size of sizes) {
  const result = await benchSize(size);
  results[String(size)] = result;
  console.log(
    `${size} files: ours p50 ${result.ours_p50_ms} ms p99 ${result.ours_p99_ms} ms; native clone+commit+push p50 ${result.native_p50_ms} ms p99 ${result.native_p99_ms} ms; ratio ${result.ratio}; first clone ${result.first_clone_ms} ms`,
  );
}
// The targets: a rollback push at 10,000 files within 100 ms, nearly flat in the repository's
// size (10,000 over 100 files p50 at most 1.5), at least 5 times faster than a fresh clone there;
// at 100,000 files within 2 times the 100-file p50, and the warm workspace within 300 MB.
const at = (size: number) => results[String(size)];
const ratioOf = (top: number, bottom: number) => {
  const a = at(top);
  const b = at(bottom);
  return a === undefined || b === undefined
    ? undefined
    : Math.round((a.ours_p50_ms / b.ours_p50_ms) * 100) / 100;
};
const growth10k = ratioOf(10_000, 100);
const growth100k = ratioOf(largeSize, 100);
const rssMb = Math.max(...Object.values(results).map((result) => result.warm_rss_mb ?? Number.NaN));
const targets = {
  ours_p50_ms_at_10000: 100,
  growth_10000_over_100: 1.5,
  ratio_at_10000: 5,
  growth_100000_over_100: 2,
  rss_mb: 300,
};
// A size left out (BENCH_SIZES) has no figure and no check.
const checks = [
  at(10_000) === undefined || (at(10_000)?.ours_p50_ms ?? Infinity) <= targets.ours_p50_ms_at_10000,
  growth10k === undefined || growth10k <= targets.growth_10000_over_100,
  at(10_000) === undefined || (at(10_000)?.ratio ?? 0) >= targets.ratio_at_10000,
  growth100k === undefined || growth100k <= targets.growth_100000_over_100,
  rssMb <= targets.rss_mb,
];
console.log(
  JSON.stringify({
    rounds,
    files_per_service: filesPerService,
    sizes: results,
    growth_10000_over_100: growth10k ?? null,
    growth_100000_over_100: growth100k ?? null,
    ours_p50_ms: at(largeSize)?.ours_p50_ms ?? null,
    rss_mb: rssMb,
    targets,
    met: checks.every(Boolean),
  }),
);
