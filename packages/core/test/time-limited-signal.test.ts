import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { timeLimitedSignal } from "../src/util/async.js";

// A collection in the middle of the wait must not lose the time limit. (With
// `AbortSignal.any([parent, AbortSignal.timeout(ms)])` on Node 20.20, none of 50 such signals
// fired once collections ran during the wait.)
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

describe("timeLimitedSignal", () => {
  it("fires at its limit even when garbage is collected while it waits, with a TimeoutError reason", async () => {
    const reasons: unknown[] = [];
    const waits = Array.from({ length: 20 }, () => {
      // Nothing but the listener refers to the signal while it waits, as in a notifier call.
      const { signal } = timeLimitedSignal(new AbortController().signal, 50);
      return new Promise<void>((resolve) => {
        signal.addEventListener("abort", () => {
          reasons.push(signal.reason);
          resolve();
        });
      });
    });
    for (let round = 0; round < 5; round++) {
      collect();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(waits);
    expect(reasons).toHaveLength(20);
    expect(reasons.every((reason) => reason instanceof DOMException && reason.name === "TimeoutError")).toBe(
      true,
    );
  });

  it("aborts with the parent's reason, and done() stops the timer and the listening", async () => {
    const parent = new AbortController();
    const first = timeLimitedSignal(parent.signal, 60_000);
    parent.abort(new Error("stopping"));
    expect(first.signal.aborted).toBe(true);
    expect((first.signal.reason as Error).message).toBe("stopping");
    first.done();

    const other = new AbortController();
    const second = timeLimitedSignal(other.signal, 10);
    second.done();
    other.abort(new Error("late"));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(second.signal.aborted).toBe(false);
  });
});
