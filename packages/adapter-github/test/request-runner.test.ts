import { ForgeError } from "@selfheal/core";
import { describe, expect, it } from "vitest";
import { createRequestRunner } from "../src/request-runner.js";

const config = { minMutationIntervalMs: 50, maxAttempts: 3, maxRetryDelayMs: 60_000 };
const rateLimited = () =>
  Object.assign(new Error("API rate limit exceeded"), {
    status: 429,
    response: { headers: { "retry-after": "0" }, data: { message: "API rate limit exceeded" } },
  });

describe("createRequestRunner", () => {
  it("retries a rate limit at most maxAttempts times", async () => {
    const runner = createRequestRunner(config);
    let tries = 0;
    const error = await runner
      .run({ operation: "probe", mutation: false, signal: AbortSignal.timeout(5_000) }, async () => {
        tries++;
        throw rateLimited();
      })
      .catch((thrown: unknown) => thrown);
    expect(tries).toBe(3);
    expect(error).toMatchObject({ kind: "rate_limited", retryAfterMs: 0, status: 429 });
  });

  it("does not retry what a retry cannot fix", async () => {
    const runner = createRequestRunner(config);
    let tries = 0;
    const shapeError = new ForgeError("unexpected shape", { kind: "unavailable", retryable: false });
    await expect(
      runner.run({ operation: "probe", mutation: false, signal: AbortSignal.timeout(5_000) }, async () => {
        tries++;
        throw shapeError;
      }),
    ).rejects.toBe(shapeError);
    expect(tries).toBe(1);
  });

  it("lets a mutation whose caller gave up leave the queue, and keeps the order of the rest", async () => {
    const runner = createRequestRunner(config);
    const order: string[] = [];
    let finishFirst = () => {};
    const first = runner.run(
      { operation: "first", mutation: true, signal: AbortSignal.timeout(5_000) },
      () => {
        order.push("first");
        return new Promise<void>((resolve) => {
          finishFirst = resolve;
        });
      },
    );
    const impatient = runner
      .run({ operation: "impatient", mutation: true, signal: AbortSignal.timeout(20) }, async () => {
        order.push("impatient");
      })
      .catch((thrown: unknown) => thrown);
    const third = runner.run(
      { operation: "third", mutation: true, signal: AbortSignal.timeout(5_000) },
      async () => {
        order.push("third");
      },
    );
    expect(await impatient).toMatchObject({ kind: "unavailable", operation: "impatient" });
    expect(order).toEqual(["first"]);
    const released = performance.now();
    finishFirst();
    await Promise.all([first, third]);
    expect(order).toEqual(["first", "third"]);
    expect(performance.now() - released).toBeGreaterThanOrEqual(45);
  });
});
