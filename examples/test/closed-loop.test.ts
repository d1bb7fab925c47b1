// The closed loop end to end, with real Prometheus and Alertmanager (Debian's binaries), a real
// git server, the sample service in a child process and the local sync agent: `pnpm e2e`.
// Each scenario starts its own loop (fresh ports, folders and Prometheus data), so no state
// leaks between them. Built output is needed for the service's child process: `pnpm run build`.

import { type OpaPolicy, opaPolicy } from "@selfheal/adapter-opa";
import { opaGate, shippedPolicyFile, startOpa } from "@selfheal/adapter-opa/testing";
import { firingPayload } from "@selfheal/adapter-prometheus";
import {
  alertmanagerBinary,
  binaryAvailable,
  freePort,
  prometheusBinary,
} from "@selfheal/adapter-prometheus/testing";
import type { AuditEvent, Policy } from "@selfheal/core";
import { runGit } from "@selfheal/gitops/testing";
import { afterEach, describe, expect, it } from "vitest";
import { type ClosedLoop, type ClosedLoopSettings, startClosedLoop, timeline } from "../src/loop/index.js";

const binaries = [prometheusBinary(), alertmanagerBinary()];
const missing = (await Promise.all(binaries.map(binaryAvailable))).includes(false);
// On CI a missing binary must fail the run (startPrometheus throws), never skip it.
const skip = missing && process.env.CI !== "true";
const opa = await opaGate();

let loop: ClosedLoop | undefined;
afterEach(async () => {
  await loop?.stop();
  loop = undefined;
});

/** Start a loop, inject the bad release, and wait until the first incident closes. */
async function runScenario(
  settings: ClosedLoopSettings,
  options: { readonly merge?: boolean; readonly timeoutMs?: number } = {},
) {
  loop = await startClosedLoop(settings);
  const started = loop;
  const faultAt = await started.injectFault();
  const { incident, merged } = await started.untilClosed({
    // Generous: the real Prometheus and Alertmanager keep their own intervals, and a loaded
    // machine stretches each step; a loop that works closes long before.
    timeoutMs: options.timeoutMs ?? 75_000,
    merge: options.merge === true,
  });
  return {
    loop: started,
    sawAwaitingMerge: merged > 0,
    trail: await timeline(started.controller.store, incident.id, faultAt),
  };
}

/** Poll `read` until it gives something, or fail after `timeoutMs`. */
async function waitFor<T>(read: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await read();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`nothing found within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

type Match = readonly [AuditEvent["type"], string?];

/** The events match `expected` in this order (others may come between). */
function expectInOrder(events: readonly AuditEvent[], expected: readonly Match[]) {
  let from = 0;
  for (const [type, text] of expected) {
    const index = events.findIndex(
      (event, position) =>
        position >= from && event.type === type && (text === undefined || event.message.includes(text)),
    );
    expect(
      index,
      `${type}${text === undefined ? "" : ` (${text})`} after event ${from}`,
    ).toBeGreaterThanOrEqual(from);
    from = index + 1;
  }
}

const count = (events: readonly AuditEvent[], type: AuditEvent["type"]) =>
  events.filter((event) => event.type === type).length;

const git = (target: ClosedLoop, ...args: string[]) => runGit(["--git-dir", target.repoPath, ...args]);

describe.skipIf(skip)("the closed loop with real Prometheus, Alertmanager, git and the sync agent", () => {
  it("1. rolls a bad release back with a commit on main, syncs, and verifies the recovery", {
    timeout: 90_000,
  }, async () => {
    const { loop: running, trail } = await runScenario({ mode: "direct" });
    expectInOrder(trail.events, [
      ["signal.received", "firing HighErrorRate"],
      ["incident.opened"],
      ["enrich.completed", "prometheus"],
      ["decision.made", "rollback"],
      ["remediation.started"],
      ["remediation.completed"],
      ["verification.passed", "argocd-sync: checkout: Synced and Healthy"],
      ["verification.passed", "prometheus-recovery"],
      ["incident.closed", "resolved"],
    ]);
    expect(trail.incident.state).toBe("resolved");
    expect(count(trail.events, "remediation.completed")).toBe(1);
    // The rollback is on main, names the incident, and is what runs now.
    const head = await git(running, "log", "-1", "--format=%B", "main");
    expect(head).toContain(`Selfheal-Incident: ${trail.incident.id}`);
    expect(await git(running, "show", `main:${running.manifestPath}`)).toContain("checkout:v1.1.0");
    expect(running.deploys.map((deploy) => deploy.version)).toEqual(["v1.2.0", "v1.1.0"]);
    expect(running.service.version).toBe("v1.1.0");
    expect(Object.keys(trail.durations).sort()).toEqual([
      "decide_s",
      "detect_s",
      "remediate_s",
      "sync_s",
      "verify_s",
    ]);
    // The stages add up to the MTTR (how long it takes is the benchmark's business, not a test's).
    const stages = Object.values(trail.durations).reduce((sum, value) => sum + value, 0);
    expect(trail.mttr_s).toBeGreaterThan(0);
    expect(trail.mttr_s).toBeCloseTo(stages, 2);
  });

  it("2. does the same through a change request that the test merges", { timeout: 90_000 }, async () => {
    const result = await runScenario({ mode: "change_request" }, { merge: true });
    const { loop: running, trail } = result;
    expect(result.sawAwaitingMerge).toBe(true);
    expectInOrder(trail.events, [
      ["signal.received"],
      ["decision.made", "rollback"],
      ["remediation.completed"],
      ["merge.completed"],
      ["verification.passed", "argocd-sync"],
      ["verification.passed", "prometheus-recovery"],
      ["incident.closed", "resolved"],
    ]);
    expect(running.forge?.requests.map((request) => [request.state, request.branch])).toEqual([
      ["merged", expect.stringMatching(/^selfheal\//)],
    ]);
    // main moved by the forge's merge commit, not by a direct push.
    expect(await git(running, "log", "-1", "--format=%P%n%s", "main")).toMatch(
      /^\w+ \w+\nMerge change request #1/,
    );
    expect(running.service.version).toBe("v1.1.0");
  });

  it("3. escalates and opens the circuit when the rollback does not cure the symptom, and acts no more", {
    timeout: 120_000,
  }, async () => {
    const { loop: running, trail } = await runScenario(
      {
        // v1.1.0 is bad too: rolling back to it cannot help.
        versions: { "v1.0.0": { errorRate: 0 }, "v1.1.0": { errorRate: 0.3 }, "v1.2.0": { errorRate: 0.3 } },
        baseVersion: "v1.0.0",
        releases: ["v1.1.0", "v1.2.0"],
        deadlineS: 10,
      },
      { timeoutMs: 90_000 },
    );
    expectInOrder(trail.events, [
      ["decision.made", "rollback"],
      ["remediation.completed"],
      ["verification.passed", "argocd-sync"],
      ["verification.failed", "prometheus-recovery"],
      ["circuit.opened"],
      ["incident.closed", "escalated"],
    ]);
    expect(trail.incident.state).toBe("escalated");
    expect(running.service.version).toBe("v1.1.0");

    // The same alert again, as a new firing: the open circuit suppresses any second action.
    const payload = firingPayload({
      groupLabels: { alertname: "HighErrorRate", service: "checkout" },
      alerts: [
        {
          labels: { alertname: "HighErrorRate", service: "checkout", severity: "critical" },
          fingerprint: "e2e-again",
        },
      ],
    });
    const answer = await fetch(`${running.controllerUrl}/webhook/alertmanager`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
    expect(answer.status).toBe(200);
    // Wait for the controller to deal with it (the suppression), not for a fixed time.
    const suppressed = (events: readonly AuditEvent[]) =>
      events.some((event) => event.type === "guardrail.suppressed" && event.message.includes("circuit"));
    const deadline = Date.now() + 30_000;
    while (!suppressed(await running.controller.store.listEvents()) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await running.controller.settled();
    const all = await running.controller.store.listEvents();
    expect(suppressed(all)).toBe(true);
    expect(count(all, "remediation.started")).toBe(1);
    expect(count(all, "remediation.completed")).toBe(1);
    expect(await git(running, "rev-list", "--count", "main")).toBe("4\n");
  });

  it.skipIf(opa.skip)(
    `4. OPA is down when the alert arrives: the failure is recorded, no action, and once OPA is back the incident is decided again and rolled back${opa.skip ? ` (${opa.why})` : ""}`,
    { timeout: 90_000 },
    async () => {
      const down = opaPolicy({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 500, retries: 0 });
      let current: OpaPolicy = down;
      // The controller keeps one policy; OPA's address answering again is what changes.
      const policy: Policy = { name: down.name, decide: (input, options) => current.decide(input, options) };
      loop = await startClosedLoop({ mode: "direct", policy });
      const running = loop;
      const faultAt = await running.injectFault();
      const store = running.controller.store;
      const failed = await waitFor(async () => {
        const events = await store.listEvents({ types: ["decision.failed"] });
        return events.length > 0 ? events : undefined;
      }, 60_000);
      expect(failed[0]?.message).toMatch(/OPA unreachable.*deciding again at/);
      // Nothing was done while OPA was down.
      expect(await store.listEvents({ types: ["remediation.started"] })).toEqual([]);
      const server = await startOpa({
        files: [shippedPolicyFile],
        data: { selfheal: { config: { restartThreshold: false } } },
      });
      const up = opaPolicy({ url: server.url });
      current = up;
      try {
        const { incident } = await running.untilClosed({ timeoutMs: 60_000, merge: false });
        const trail = await timeline(store, incident.id, faultAt);
        expectInOrder(trail.events, [
          ["signal.received", "firing HighErrorRate"],
          ["decision.failed", "OPA unreachable"],
          ["decision.made", "rollback: error rate"],
          ["remediation.completed"],
          ["incident.closed", "resolved"],
        ]);
        expect(trail.incident.state).toBe("resolved");
        expect(count(trail.events, "remediation.started")).toBe(1);
        expect(running.service.version).toBe("v1.1.0");
      } finally {
        await up.close();
        await down.close();
        await server.stop();
      }
    },
  );

  it.skipIf(opa.skip)(
    `5. rolls the bad release back deciding through a real OPA with the shipped policy${opa.skip ? ` (${opa.why})` : ""}`,
    { timeout: 60_000 },
    async () => {
      // The loop's built-in policy runs with restartThreshold false (the sample service degrades
      // without crashing); the Rego gets the same setting through its data document.
      const server = await startOpa({
        files: [shippedPolicyFile],
        data: { selfheal: { config: { restartThreshold: false } } },
        args: ["--set=decision_logs.console=true"],
      });
      const policy = opaPolicy({ url: server.url });
      try {
        const { loop: running, trail } = await runScenario({ mode: "direct", policy });
        expectInOrder(trail.events, [
          ["signal.received", "firing HighErrorRate"],
          ["decision.made", "rollback: error rate"],
          ["remediation.completed"],
          ["verification.passed", "prometheus-recovery"],
          ["incident.closed", "resolved"],
        ]);
        expect(trail.incident.state).toBe("resolved");
        const made = trail.events.find((event) => event.type === "decision.made");
        const recorded = made?.data as { decision?: { policy?: string; decision_id?: string } } | undefined;
        const decision = recorded?.decision;
        expect(decision?.policy).toBe("opa:selfheal/decision");
        // The audit trail leads to OPA's decision log.
        expect(server.log()).toContain(decision?.decision_id ?? "no decision_id recorded");
        expect(await git(running, "show", `main:${running.manifestPath}`)).toContain("checkout:v1.1.0");
        expect(running.service.version).toBe("v1.1.0");
      } finally {
        await policy.close();
        await server.stop();
      }
    },
  );
});
