import { describe, expect, it } from "vitest";
import { toForgeError } from "../src/github-errors.js";

const now = Date.parse("2026-01-01T00:00:00Z");
const httpError = (status: number, headers: Record<string, string>, message = "Forbidden") =>
  Object.assign(new Error(message), {
    name: "HttpError",
    status,
    request: { url: "https://api.github.com/repos/acme/config/pulls?head=acme:x" },
    response: {
      url: "https://api.github.com/repos/acme/config/pulls?head=acme:x",
      headers,
      data: { message },
    },
  });

describe("toForgeError", () => {
  it("waits until x-ratelimit-reset when no request is left", () => {
    const reset = String(now / 1000 + 90);
    const error = toForgeError(
      httpError(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset }),
      {
        operation: "getPullRequest",
      },
      now,
    );
    expect(error).toMatchObject({ kind: "rate_limited", retryAfterMs: 90_000, retryable: true });
    expect(error.url).toBe("https://api.github.com/repos/acme/config/pulls");
  });

  it("tells a secondary rate limit from a missing permission", () => {
    const secondary = toForgeError(
      httpError(403, {}, "You have exceeded a secondary rate limit"),
      { operation: "o" },
      now,
    );
    expect(secondary).toMatchObject({ kind: "rate_limited", retryAfterMs: 60_000 });
    const forbidden = toForgeError(
      httpError(403, { "x-ratelimit-remaining": "4999" }, "Resource not accessible by integration"),
      { operation: "o" },
      now,
    );
    expect(forbidden).toMatchObject({ kind: "forbidden", retryable: false });
    expect(forbidden.message).toContain("Resource not accessible by integration");
  });

  it("maps GraphQL errors by their type", () => {
    const graphql = (type: string) =>
      Object.assign(new Error("Request failed due to following response errors"), {
        name: "GraphqlResponseError",
        errors: [{ type, message: `${type} happened` }],
      });
    expect(toForgeError(graphql("NOT_FOUND"), { operation: "enableAutoMerge" }).kind).toBe("not_found");
    expect(toForgeError(graphql("FORBIDDEN"), { operation: "enableAutoMerge" }).kind).toBe("forbidden");
    expect(toForgeError(graphql("UNPROCESSABLE"), { operation: "enableAutoMerge" })).toMatchObject({
      kind: "invalid",
      message: "GitHub enableAutoMerge failed: UNPROCESSABLE happened",
    });
  });
});
