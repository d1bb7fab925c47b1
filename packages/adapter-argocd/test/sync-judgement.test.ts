import { describe, expect, it } from "vitest";
import { type ArgocdApplication, judgeApplication } from "../src/index.js";
import { oldRevision, ourRevision } from "./argocd-app-model.js";

const synced = (revision: string, extra: Partial<NonNullable<ArgocdApplication["status"]>> = {}) => ({
  status: { sync: { status: "Synced", revision }, health: { status: "Healthy" }, ...extra },
});

describe("judgeApplication", () => {
  const expectation = { revision: ourRevision, syncRequested: false };

  it("accepts an abbreviated SHA of the synced revision, nothing looser", () => {
    expect(
      judgeApplication(synced(ourRevision), { ...expectation, revision: ourRevision.slice(0, 12) }),
    ).toMatchObject({
      verdict: "passed",
    });
    expect(
      judgeApplication(synced(ourRevision), { ...expectation, revision: ourRevision.slice(0, 6) }),
    ).toMatchObject({
      verdict: "waiting",
    });
    expect(judgeApplication(synced(ourRevision.toUpperCase()), expectation)).toMatchObject({
      verdict: "passed",
    });
  });

  it("accepts a multi-source application whose revisions include ours", () => {
    const app = {
      status: {
        sync: { status: "Synced", revisions: [oldRevision, ourRevision] },
        health: { status: "Healthy" },
      },
    };
    expect(judgeApplication(app, expectation)).toMatchObject({ verdict: "passed" });
  });

  it("ignores a failed dry run and a failed operation of another revision", () => {
    const failed = (revision: string, dryRun: boolean) =>
      synced(oldRevision, {
        operationState: { phase: "Failed", message: "boom", operation: { sync: { revision, dryRun } } },
      });
    expect(judgeApplication(failed(ourRevision, true), expectation)).toMatchObject({ verdict: "waiting" });
    expect(judgeApplication(failed(oldRevision, false), expectation)).toMatchObject({ verdict: "waiting" });
    expect(judgeApplication(failed(ourRevision, false), expectation)).toMatchObject({
      verdict: "failed",
      reason: `sync of ${ourRevision} failed: boom`,
    });
  });

  it("does not count the operation seen before our sync call, even at our revision", () => {
    const app = synced(oldRevision, {
      operationState: {
        phase: "Error",
        startedAt: "2026-08-20T10:00:01Z",
        syncResult: { revision: ourRevision },
      },
    });
    const ours = { ...expectation, syncRequested: true };
    expect(
      judgeApplication(app, { ...ours, previousOperationStartedAt: "2026-08-20T10:00:01Z" }),
    ).toMatchObject({
      verdict: "waiting",
    });
    expect(
      judgeApplication(app, { ...ours, previousOperationStartedAt: "2026-08-20T09:00:00Z" }),
    ).toMatchObject({
      verdict: "failed",
    });
  });

  it("waits on a fresh application whose status is still empty", () => {
    expect(judgeApplication({}, expectation)).toEqual({
      verdict: "waiting",
      reason: `Argo CD compares against no revision yet, not ${ourRevision}`,
      degraded: false,
    });
    expect(judgeApplication({}, { revision: undefined, syncRequested: false })).toMatchObject({
      verdict: "waiting",
      reason: "Unknown at its target revision",
    });
  });
});
