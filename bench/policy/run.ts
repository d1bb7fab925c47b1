// bench/policy: 5,000 decisions over the decision corpus's inputs through a real OPA serving the
// shipped Rego (opaPolicy's keep-alive pool, 16 decisions in flight), then through the built-in
// TypeScript policy. Prints a few lines and one JSON object as its last line. See bench/README.md.
import { readFile } from "node:fs/promises";
import { type OpaTiming, opaPolicy } from "@selfheal/adapter-opa";
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
const timings: OpaTiming[] = [];
let recording = false;
const policy = opaPolicy({
  url: opa.url,
  onTiming: (timing) => {
    if (recording) timings.push(timing);
  },
});
// One caller signal per worker, never aborted: the adapter's own time limit (timeoutMs) bounds each
// decision, and a signal made per call would add its own cost to the client's figures.
const call = (signal: AbortSignal) => ({ signal });
let opaRun: { seconds: number; answers: Decision[] };
try {
  await drive(warmup, inputs, (input, signal) => policy.decide(input, call(signal)));
  recording = true;
  opaRun = await drive(decisions, inputs, (input, signal) => policy.decide(input, call(signal)));
} finally {
  await policy.close();
  await opa.stop();
}

// Every answer must be a real decision that agrees with the built-in policy: a benchmark of
// fail-closed answers would measure nothing.
let disagreements = 0;
opaRun.answers.forEach((answer, index) => {
  const expected = decideBuiltin(inputs[index % inputs.length] as DecisionInput);
  if (answer.reason !== expected.reason || answer.action !== expected.action) disagreements++;
});

const builtin = builtinPolicy();
const builtinMs: number[] = [];
await drive(warmup, inputs, async (input, signal) => (await builtin.decide(input, call(signal))) as Decision);
const builtinRun = await drive(decisions, inputs, async (input, signal) => {
  const started = performance.now();
  const decision = (await builtin.decide(input, call(signal))) as Decision;
  builtinMs.push(performance.now() - started);
  return decision;
});

const totals = timings.map((timing) => timing.totalMs);
const overheads = timings.map((timing) => timing.totalMs - (timing.serverMs ?? 0));
const servers = timings.map((timing) => timing.serverMs ?? Number.NaN);
const result = {
  decisions,
  in_flight: inFlight,
  corpus_inputs: inputs.length,
  opa_version: opaVersion,
  disagreements,
  opa_p50_ms: round(percentile(totals, 50)),
  opa_p99_ms: round(percentile(totals, 99)),
  opa_per_s: Math.round(decisions / opaRun.seconds),
  opa_server_p50_ms: round(percentile(servers, 50)),
  opa_server_p99_ms: round(percentile(servers, 99)),
  adapter_overhead_p50_ms: round(percentile(overheads, 50)),
  adapter_overhead_p99_ms: round(percentile(overheads, 99)),
  builtin_p99_ms: round(percentile(builtinMs, 99), 4),
  builtin_per_s: Math.round(decisions / builtinRun.seconds),
  targets,
  met:
    disagreements === 0 &&
    timings.length === decisions &&
    percentile(totals, 99) <= targets.opa_p99_ms &&
    percentile(overheads, 99) <= targets.adapter_overhead_p99_ms,
};
console.log(
  `OPA ${opaVersion}: ${decisions} decisions, ${inFlight} in flight, over ${inputs.length} corpus inputs; ${disagreements} disagreements with the built-in policy`,
);
console.log(JSON.stringify(result));
