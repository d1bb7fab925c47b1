// bench/policy: 5,000 decisions over the decision corpus's inputs through a real OPA serving the
// shipped Rego (opaPolicy's keep-alive pool, 16 decisions in flight), then through the built-in
// TypeScript policy. Prints a few lines and one JSON object as its last line. See bench/README.md.
import { readFile } from "node:fs/promises";
import { type OpaPolicySettings, type OpaTiming, opaPolicy } from "@selfheal/adapter-opa";
import { opaVersion, shippedPolicyFile, startOpa } from "@selfheal/adapter-opa/testing";
import { builtinPolicy, type Decision, DecisionInput, decideBuiltin } from "@selfheal/core";
import { percentile } from "../stats.js";

const decisions = Number(process.env.BENCH_DECISIONS ?? 5000);
const inFlight = Number(process.env.BENCH_CONCURRENCY ?? 16);
/** Decisions made first and not measured: JIT warm-up, connections opened, OPA's caches filled. */
const warmup = 500;
const targets = { opa_p99_ms: 5, adapter_overhead_p99_ms: 1 };
const corpusUrl = new URL("../../../packages/core/test/fixtures/decision-corpus.json", import.meta.url);

const round = (value: number, digits = 3) => Number(value.toFixed(digits));

async function corpusInputs(): Promise<DecisionInput[]> {
  const corpus = JSON.parse(await readFile(corpusUrl, "utf8")) as { cases: { input: unknown }[] };
  return corpus.cases.map((entry) => DecisionInput.parse(entry.input));
}

/** Run `count` decisions, `inFlight` at a time, each on the next corpus input. */
async function drive(
  count: number,
  inputs: readonly DecisionInput[],
  decide: (input: DecisionInput, signal: AbortSignal) => Promise<Decision>,
): Promise<{ seconds: number; answers: Decision[] }> {
  const answers: Decision[] = new Array(count);
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    const signal = new AbortController().signal;
    for (let index = next++; index < count; index = next++) {
      answers[index] = await decide(inputs[index % inputs.length] as DecisionInput, signal);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { seconds: (performance.now() - started) / 1000, answers };
}

const inputs = await corpusInputs();
// Request logging off (--log-level=error): at info OPA writes two JSON lines per request, which is
// the deployment's choice, not the decision path's cost.
const opa = await startOpa({ files: [shippedPolicyFile], args: ["--log-level=error"] });
// One caller signal per worker, never aborted: the adapter's own time limit (timeoutMs) bounds each
// decision, and a signal made per call would add its own cost to the client's figures.
const call = (signal: AbortSignal) => ({ signal });

interface OpaFigures {
  readonly seconds: number;
  readonly answers: Decision[];
  readonly timings: OpaTiming[];
}

/** Warm up, then measure `decisions` decisions through one adapter configuration. */
async function measureOpa(batch: OpaPolicySettings["batch"]): Promise<OpaFigures> {
  const timings: OpaTiming[] = [];
  let recording = false;
  const policy = opaPolicy({
    url: opa.url,
    ...(batch === undefined ? {} : { batch }),
    onTiming: (timing) => {
      if (recording) timings.push(timing);
    },
  });
  try {
    await drive(warmup, inputs, (input, signal) => policy.decide(input, call(signal)));
    recording = true;
    const run = await drive(decisions, inputs, (input, signal) => policy.decide(input, call(signal)));
    return { ...run, timings };
  } finally {
    await policy.close();
  }
}

// Every answer must be a real decision that agrees with the built-in policy: a benchmark of
// fail-closed answers would measure nothing.
function disagreementsOf(run: OpaFigures): number {
  let count = 0;
  run.answers.forEach((answer, index) => {
    const expected = decideBuiltin(inputs[index % inputs.length] as DecisionInput);
    if (answer.reason !== expected.reason || answer.action !== expected.action) count++;
  });
  return count;
}

function figures(run: OpaFigures) {
  const totals = run.timings.map((timing) => timing.totalMs);
  const overheads = run.timings.map((timing) => timing.totalMs - (timing.serverMs ?? 0));
  const servers = run.timings.map((timing) => timing.serverMs ?? Number.NaN);
  return {
    disagreements: disagreementsOf(run),
    timed: run.timings.length,
    p50_ms: round(percentile(totals, 50)),
    p99_ms: round(percentile(totals, 99)),
    per_s: Math.round(decisions / run.seconds),
    server_p50_ms: round(percentile(servers, 50)),
    server_p99_ms: round(percentile(servers, 99)),
    overhead_p50_ms: round(percentile(overheads, 50)),
    overhead_p99_ms: round(percentile(overheads, 99)),
  };
}

// The simplest alternative first: one request per decision (the adapter's default), then the
// batching configuration (`batch: { path: "selfheal/decisions", maxRequests: 1 }`): decisions
// that wait while a request is out go together in the next one.
const batchSettings = { path: "selfheal/decisions", maxRequests: 1 } as const; // the default maxRequests
let single: ReturnType<typeof figures>;
let batched: ReturnType<typeof figures>;
try {
  single = figures(await measureOpa(undefined));
  batched = figures(await measureOpa(batchSettings));
} finally {
  await opa.stop();
}

const builtin = builtinPolicy();
const builtinMs: number[] = [];
await drive(warmup, inputs, async (input, signal) => (await builtin.decide(input, call(signal))) as Decision);
const builtinRun = await drive(decisions, inputs, async (input, signal) => {
  const started = performance.now();
  const decision = (await builtin.decide(input, call(signal))) as Decision;
  builtinMs.push(performance.now() - started);
  return decision;
});

const result = {
  decisions,
  in_flight: inFlight,
  corpus_inputs: inputs.length,
  opa_version: opaVersion,
  opa_mode: `batched (maxRequests ${batchSettings.maxRequests}, rule ${batchSettings.path})`,
  disagreements: batched.disagreements + single.disagreements,
  opa_p50_ms: batched.p50_ms,
  opa_p99_ms: batched.p99_ms,
  opa_per_s: batched.per_s,
  opa_server_p50_ms: batched.server_p50_ms,
  opa_server_p99_ms: batched.server_p99_ms,
  adapter_overhead_p50_ms: batched.overhead_p50_ms,
  adapter_overhead_p99_ms: batched.overhead_p99_ms,
  single_p50_ms: single.p50_ms,
  single_p99_ms: single.p99_ms,
  single_per_s: single.per_s,
  single_overhead_p99_ms: single.overhead_p99_ms,
  builtin_p99_ms: round(percentile(builtinMs, 99), 4),
  builtin_per_s: Math.round(decisions / builtinRun.seconds),
  targets,
  met:
    batched.disagreements + single.disagreements === 0 &&
    batched.timed === decisions &&
    batched.p99_ms <= targets.opa_p99_ms &&
    batched.overhead_p99_ms <= targets.adapter_overhead_p99_ms,
};
console.log(
  `OPA ${opaVersion}: ${decisions} decisions, ${inFlight} in flight, over ${inputs.length} corpus inputs, disagreements with the built-in policy: ${single.disagreements} one request per decision, ${batched.disagreements} batched`,
);
console.log(
  `one request per decision: p50 ${single.p50_ms} ms, p99 ${single.p99_ms} ms, ${single.per_s}/s; batched: p50 ${batched.p50_ms} ms, p99 ${batched.p99_ms} ms, ${batched.per_s}/s`,
);
console.log(JSON.stringify(result));
