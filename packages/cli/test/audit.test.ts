import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AuditReport,
  auditReport,
  createController,
  fileStore,
  silentLogger,
  type Verifier,
} from "@selfheal/core";
import { makeEvent, makeSignal, recordingRemediator, staticPolicy } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "./cli-harness.js";

let folder: string;
const startedAgo = 60_000;

/** Passes for every service but payments, whose error rate stays up. */
const recovery: Verifier = {
  name: "recovery",
  stage: "recovery",
  async verify({ incident }) {
    const outcome = incident.service === "payments" ? "failed" : "passed";
    return {
      verifier: "recovery",
      outcome,
      reason: `error rate ${outcome}`,
      observedAt: new Date().toISOString(),
    };
  },
};
const sync: Verifier = {
  name: "sync",
  stage: "sync",
  async verify() {
    return { verifier: "sync", outcome: "passed", reason: "synced", observedAt: new Date().toISOString() };
  },
};

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "selfheal-cli-audit-"));
  // A real controller records three incidents in a file store: resolved, failed, no action.
  const controller = createController({
    store: fileStore({ dir: join(folder, "state"), fsync: false }),
    policy: staticPolicy((input) =>
      input.service === "search"
        ? { action: "none", reason: "no rule for HighCPU" }
        : { action: "rollback", reason: "error rate above threshold" },
    ),
    remediate: recordingRemediator(),
    verify: [sync, recovery],
    guardrails: { cooldown: 0 },
    logger: silentLogger,
  });
  const handleStarted = Date.now();
  const startsAt = new Date(handleStarted - startedAgo).toISOString();
  await controller.handle([
    makeSignal({ service: "checkout", startsAt }),
    makeSignal({ service: "payments", startsAt }),
    // Alertmanager left 3 alerts of this one's notification out (max_alerts).
    makeSignal({ service: "search", alertname: "HighCPU", startsAt, truncatedAlerts: 3 }),
  ]);
  await controller.settled();
  // What the webhook records for an alert it rejected beside accepted ones (see webhook-intake.test.ts).
  await controller.store.appendEvents([
    makeEvent({
      type: "signal.rejected",
      at: new Date().toISOString(),
      data: {
        source: "alertmanager",
        scope: "item",
        index: 1,
        path: "alerts[1].startsAt",
        reason: "invalid alert at alerts[1].startsAt: expected an RFC 3339 timestamp",
      },
    }),
  ]);
  await controller.close();
  await writeFile(
    join(folder, "selfheal.yaml"),
    "policy: { builtin: {} }\nstore: { file: { dir: state } }\n",
  );
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("auditReport", () => {
  it("gives each incident its chain and outcome, and per service the success rate and MTTR", async () => {
    const store = fileStore({ dir: join(folder, "state"), fsync: false });
    let report: AuditReport;
    try {
      report = await auditReport(store);
    } finally {
      await store.close();
    }
    const byService = new Map(report.incidents.map((incident) => [incident.service, incident]));
    const checkout = byService.get("checkout");
    expect(checkout?.outcome).toBe("resolved");
    expect(checkout?.action).toBe("rollback");
    expect(checkout?.chain.map((step) => `${step.stage}:${step.status}`)).toEqual([
      "signal:ok",
      "decision:ok",
      "change:ok",
      "sync:ok",
      "verification:ok",
    ]);
    // MTTR counts from when the controller received the alert; the alert's own age is apart.
    expect(checkout?.mttrMs).toBe(
      Date.parse(checkout?.closedAt ?? "") - Date.parse(checkout?.openedAt ?? ""),
    );
    expect(checkout?.alertAgeMs).toBeGreaterThanOrEqual(startedAgo);
    expect(byService.get("payments")?.outcome).toBe("failed");
    expect(byService.get("payments")?.chain.at(-1)).toMatchObject({
      stage: "verification",
      status: "failed",
    });
    expect(byService.get("search")?.outcome).toBe("no_action");
    expect(byService.get("search")?.chain.map((step) => step.stage)).toEqual(["signal", "decision"]);
    expect(report.services).toEqual([
      expect.objectContaining({ service: "checkout", incidents: 1, resolved: 1, failed: 0, successRate: 1 }),
      expect.objectContaining({ service: "payments", incidents: 1, resolved: 0, failed: 1, successRate: 0 }),
      { service: "search", incidents: 1, resolved: 0, failed: 0 },
    ]);
    expect(report.services[0]?.mttrP50Ms).toBe(checkout?.mttrMs);
  });
});

describe("selfheal audit", () => {
  it("--json prints the report of the configured store; filters narrow it", async () => {
    const all = await runInProcess(["audit", "--json"], { cwd: folder });
    expect(all.code).toBe(0);
    const report = JSON.parse(all.stdout) as AuditReport;
    expect(report.incidents.map((incident) => incident.service).sort()).toEqual([
      "checkout",
      "payments",
      "search",
    ]);

    const failed = JSON.parse(
      (await runInProcess(["audit", "--json", "--outcome", "failed"], { cwd: folder })).stdout,
    );
    expect((failed as AuditReport).incidents.map((incident) => incident.service)).toEqual(["payments"]);
    const one = JSON.parse(
      (await runInProcess(["audit", "--json", "--service", "search"], { cwd: folder })).stdout,
    );
    expect((one as AuditReport).incidents.map((incident) => incident.outcome)).toEqual(["no_action"]);
    expect((one as AuditReport).incidents.map((incident) => incident.truncatedAlerts)).toEqual([3]);
    expect(report.incidents.filter((incident) => incident.truncatedAlerts !== undefined)).toHaveLength(1);
    expect(report.rejections).toEqual([
      expect.objectContaining({ source: "alertmanager", scope: "item", path: "alerts[1].startsAt" }),
    ]);
    // A rejected alert has no service: a service filter leaves it out.
    expect((one as AuditReport).rejections).toEqual([]);
    const later = JSON.parse(
      (await runInProcess(["audit", "--json", "--since", "2099-01-01T00:00:00Z"], { cwd: folder })).stdout,
    );
    expect((later as AuditReport).incidents).toEqual([]);
    const recent = JSON.parse(
      (await runInProcess(["audit", "--json", "--since", "1h", "--until", "0s"], { cwd: folder })).stdout,
    );
    expect((recent as AuditReport).incidents).toHaveLength(3);
  });

  it("prints tables for people", async () => {
    const answer = await runInProcess(["audit"], { cwd: folder });
    expect(answer.code).toBe(0);
    expect(answer.stdout).toMatch(/^OPENED +SERVICE +ALERT +ACTION +OUTCOME +MTTR +ALERT AGE +CHAIN$/m);
    // MTTR from receipt (seconds here), the alert's own age (a minute) beside it.
    expect(answer.stdout).toMatch(
      /checkout +HighErrorRate +rollback +resolved +[\d.]+m?s +1m(\d+s)? +signal .* → verification /,
    );
    expect(answer.stdout).toMatch(/search +HighCPU \(\+3 left out\) +none +no_action /);
    expect(answer.stdout).toMatch(/^REJECTED +SOURCE +SCOPE +WHERE +REASON$/m);
    expect(answer.stdout).toMatch(/alertmanager +item +alerts\[1\]\.startsAt +invalid alert at/);
    expect(answer.stdout).toMatch(/checkout +HighErrorRate +rollback/);
    expect(answer.stdout).toMatch(/^checkout +1 +1 +0 +100% +[\d.]+m?s/m);
    expect(answer.stdout).toMatch(/^payments +1 +0 +1 +0% +-/m);
  });

  it("answers 2 to a bad filter and 1 when there is no state folder", async () => {
    const outcome = await runInProcess(["audit", "--outcome", "great"], { cwd: folder });
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain("--outcome: expected one of resolved");
    const since = await runInProcess(["audit", "--since", "yesterday"], { cwd: folder });
    expect(since.code).toBe(2);
    await writeFile(
      join(folder, "empty.yaml"),
      "policy: { builtin: {} }\nstore: { file: { dir: nowhere } }\n",
    );
    const empty = await runInProcess(["audit", "-c", "empty.yaml"], { cwd: folder });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("no state folder");
  });
});
