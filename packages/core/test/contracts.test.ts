// The contract suites of @selfheal/core/testing, run against the reference implementations and
// the built-in policy, so that the suites themselves are exercised on every run.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { builtinPolicy, webhookNotifier } from "../src/index.js";
import {
  makeDecisionInput,
  recordingRemediator,
  staticEnricher,
  testEnricherContract,
  testNotifierContract,
  testPolicyContract,
  testRemediatorContract,
} from "../src/testing/index.js";

testPolicyContract("builtin", () => builtinPolicy(), [
  makeDecisionInput(),
  makeDecisionInput({ metrics: {} }),
  makeDecisionInput({
    alert: { ...makeDecisionInput().alert, labels: { alertname: "HighCPU", service: "checkout" } },
    metrics: { cpu_usage: 0.95 },
  }),
]);

testRemediatorContract("recording", async () => {
  const remediator = recordingRemediator();
  return {
    remediator,
    decision: { action: "rollback", params: { image: "checkout:v1.1.0" }, reason: "test", escalate: false },
    snapshot: async () => remediator.sideEffects.join(","),
  };
});

// scriptedVerifier ignores its abort signal (it drives controller tests) and so breaks the
// verifier contract's abort rules: authoring.test.ts shows the kit saying so, and runs the suite
// against verifiers that honour their signal.

testEnricherContract("static", async () => ({
  enricher: staticEnricher({ metrics: { error_rate: 0.2 }, current_replicas: 3 }),
}));

testNotifierContract("webhook", async () => {
  let received = 0;
  const server = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      received++;
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    notifier: webhookNotifier({ url: `http://127.0.0.1:${port}/hook` }),
    received: async () => received,
    cleanup: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});
