import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ForgeError, SelfHealError } from "../errors/selfheal-error.js";
import type { GitForge } from "../spec/git-forge.js";
import { rule } from "./contract-check.js";

const call = () => ({ signal: AbortSignal.timeout(30_000) });

/** A forge under test, as `testGitForgeContract` gets it. */
export interface GitForgeHarness {
  readonly forge: GitForge;
  /** The repository's default branch, which exists with at least one commit. */
  readonly base: string;
  /**
   * Make `branch` exist with one commit more than `base` (as the remediator's push would),
   * and resolve with that commit's SHA.
   */
  pushBranch(branch: string): Promise<string>;
  /** The SHA `base` points at now. */
  headOf(branch: string): Promise<string | undefined>;
  /** Stop stand-ins, check that every expected request was made. */
  cleanup?(): Promise<void>;
}

/**
 * The behaviour every `GitForge` with change requests must have: open, find by branch (how a
 * restarted controller finds its own work), never a change request from a branch onto
 * itself, labels, comments, merge, and API commits that never force. Run it from an
 * adapter's tests against its stand-in:
 *
 * ```ts
 * testGitForgeContract("github", async () => ({ forge: githubForge({ ... }), base: "main", ... }));
 * ```
 */
export function testGitForgeContract(name: string, setup: () => Promise<GitForgeHarness>): void {
  describe(`GitForge contract: ${name}`, () => {
    let harness: GitForgeHarness;
    beforeEach(async () => {
      harness = await setup();
    });
    afterEach(async () => {
      await harness.cleanup?.();
    });

    it("has a name and change requests", () => {
      expect(harness.forge.name, rule("a forge has a non-empty name")).toMatch(/\S/);
      expect(
        harness.forge.changeRequests,
        rule("a forge that opens change requests says changeRequests: true"),
      ).toBe(true);
    });

    it("opens a change request and finds it again by its branch", async () => {
      const head = await harness.pushBranch("selfheal/inc-1/rollback");
      const opened = await harness.forge.open(
        {
          branch: "selfheal/inc-1/rollback",
          base: harness.base,
          title: "Roll back checkout",
          body: "why",
          labels: ["selfheal"],
        },
        call(),
      );
      expect(opened).toMatchObject({
        state: "open",
        branch: "selfheal/inc-1/rollback",
        base: harness.base,
        title: "Roll back checkout",
      });
      expect(opened.id).toMatch(/\S/);
      expect(opened.url).toMatch(/^https?:\/\//);
      expect(opened.labels).toContain("selfheal");
      if (opened.headSha !== undefined) expect(opened.headSha).toBe(head);
      const found = await harness.forge.findByBranch("selfheal/inc-1/rollback", call());
      expect(found?.id).toBe(opened.id);
      expect(await harness.forge.findByBranch("selfheal/no-such-branch", call())).toBeUndefined();
    });

    it("refuses a change request from a branch onto itself, and asks the forge nothing", async () => {
      const error = await harness.forge
        .open({ branch: harness.base, base: harness.base, title: "t", body: "b" }, call())
        .catch((thrown: unknown) => thrown);
      expect(SelfHealError.isInstance(error), rule("a forge rejects bad requests with a SelfHealError")).toBe(
        true,
      );
      expect(
        (error as ForgeError).kind,
        rule("a change request from a branch onto itself is kind invalid"),
      ).toBe("invalid");
    });

    it("updates, labels and comments", async () => {
      await harness.pushBranch("selfheal/inc-2/scale_up");
      const opened = await harness.forge.open(
        { branch: "selfheal/inc-2/scale_up", base: harness.base, title: "Scale", body: "b" },
        call(),
      );
      const updated = await harness.forge.update(opened.id, { title: "Scale checkout to 4" }, call());
      expect(updated.title).toBe("Scale checkout to 4");
      await harness.forge.label(opened.id, ["selfheal", "scale_up"], call());
      await harness.forge.comment(opened.id, "Verified: error rate 0.1% for 60 s", call());
      const now = await harness.forge.get(opened.id, call());
      expect([...now.labels].sort()).toEqual(expect.arrayContaining(["scale_up", "selfheal"]));
    });

    it("merges, and the merged change request is still found by its branch", async () => {
      const head = await harness.pushBranch("selfheal/inc-3/rollback");
      const opened = await harness.forge.open(
        { branch: "selfheal/inc-3/rollback", base: harness.base, title: "Roll back", body: "b" },
        call(),
      );
      const merged = await harness.forge.merge(opened.id, { ...call(), expectedHeadSha: head });
      expect(merged.state).toBe("merged");
      expect(merged.mergeSha).toMatch(/^[0-9a-f]{40}$/);
      expect((await harness.forge.findByBranch("selfheal/inc-3/rollback", call()))?.state).toBe("merged");
    });

    it("throws a ForgeError of kind not_found for an unknown change request", async () => {
      const error = await harness.forge.get("999999", call()).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(ForgeError);
      expect((error as ForgeError).kind).toBe("not_found");
    });

    it("commits files through the API on top of the expected head, and never forces", async (context) => {
      const forge = harness.forge;
      if (forge.commitFiles === undefined) {
        context.skip();
        return;
      }
      const parent = await harness.headOf(harness.base);
      expect(parent).toBeDefined();
      const first = await forge.commitFiles(
        {
          branch: "selfheal/inc-4/rollback",
          parentSha: parent as string,
          createBranch: true,
          message: "Roll back\n\nSelfheal-Incident: inc-4",
          files: [{ path: "apps/checkout/deployment.yaml", content: "image: v1\n" }],
        },
        call(),
      );
      expect(first.sha).toMatch(/^[0-9a-f]{40}$/);
      expect(await harness.headOf("selfheal/inc-4/rollback")).toBe(first.sha);
      // The branch is now at `first`: a commit that expects `parent` must be refused.
      const stale = await forge
        .commitFiles(
          {
            branch: "selfheal/inc-4/rollback",
            parentSha: parent as string,
            createBranch: false,
            message: "stale",
            files: [{ path: "apps/checkout/deployment.yaml", content: "image: v0\n" }],
          },
          call(),
        )
        .catch((thrown: unknown) => thrown);
      expect(stale).toBeInstanceOf(ForgeError);
      expect((stale as ForgeError).kind).toBe("conflict");
      expect(await harness.headOf("selfheal/inc-4/rollback")).toBe(first.sha);
    });
  });
}
