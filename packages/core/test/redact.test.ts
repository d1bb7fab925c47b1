import { describe, expect, it } from "vitest";
import { createRedactor, redact, redactDeep } from "../src/index.js";
import { configuredSecret, secretCorpus, secretsFoundIn } from "../src/testing/index.js";

const redactor = createRedactor({ secrets: [configuredSecret] });
const shapes = secretCorpus.filter((sample) => sample.secret !== configuredSecret);

describe("createRedactor", () => {
  it.each(secretCorpus)("hides a $shape, leaving a marker where it was", ({ text, secret }) => {
    expect(text).toContain(secret);
    const out = redactor.redact(text);
    expect(out).not.toContain(secret);
    expect(out).toMatch(/\[REDACTED[^\]]*\]/);
    // Stable: redacting twice changes nothing, so re-redacting stored text is harmless.
    expect(redactor.redact(out)).toBe(out);
  });

  it("hides every shape inside longer text, JSON and URLs", () => {
    const all = secretCorpus.map((sample) => sample.text).join("\n");
    expect(secretsFoundIn(all)).toHaveLength(secretCorpus.length);
    expect(secretsFoundIn(redactor.redact(all))).toEqual([]);
    const json = JSON.stringify({ note: all, password: "plain-but-keyed", nested: [{ token: "x" }] });
    expect(secretsFoundIn(redactor.redact(json))).toEqual([]);
    expect(redactor.redact(json)).toContain('"password":"[REDACTED]"');
    expect(redactor.redact(json)).toContain("\\ndb_password=[REDACTED]\\nsee");
  });

  it("leaves ordinary text alone", () => {
    const ordinary = [
      "HighErrorRate on checkout: error rate 30% after v1.2.0",
      "http://prometheus:9090/graph?g0.expr=rate%28http_requests_total%5B5m%5D%29",
      "registry.example.com/checkout:v1.1.0",
      "tokens: 3, passwords rotated weekly",
      "ec2 instance in Asia pacific",
      "checkout-higherrorrate-1a2b3c4d5e",
    ];
    for (const text of ordinary) expect(redactor.redact(text)).toBe(text);
  });

  it("hides a configured secret, and its URL-encoded form, only in its own controller's redactor", () => {
    const other = createRedactor({ secrets: ["another-controllers-secret"] });
    const text = `key ${configuredSecret}, again ${encodeURIComponent("p@ss word/123")}`;
    const withEncoded = createRedactor({ secrets: [configuredSecret, "p@ss word/123"] });
    expect(withEncoded.redact(text)).toBe("key [REDACTED], again [REDACTED]");
    // Two redactors in one process do not share secrets; the plain `redact` knows shapes only.
    expect(other.redact(text)).toContain(configuredSecret);
    expect(redact(text)).toContain(configuredSecret);
    expect(other.redact("another-controllers-secret")).toBe("[REDACTED]");
    expect(redactor.redact("another-controllers-secret")).toBe("another-controllers-secret");
  });

  it("does not look for configured secrets too short to be told from words", () => {
    expect(createRedactor({ secrets: ["admin", ""] }).redact("admin logged in")).toBe("admin logged in");
  });

  it("redacts deep values: every string, and the whole value of secret-named keys", () => {
    const value = {
      labels: { service: "checkout", password: "anything-at-all", note: shapes[0]?.text ?? "" },
      list: [configuredSecret, 3, null, true],
      error: new Error(`failed with ${configuredSecret}`),
    };
    const out = redactor.redactDeep(value);
    expect(out.labels).toEqual({ service: "checkout", password: "[REDACTED]", note: "token ghp_[REDACTED]" });
    expect(out.list).toEqual(["[REDACTED]", 3, null, true]);
    expect(out.error).toEqual({ name: "Error", message: "failed with [REDACTED]" });
    expect(value.list[0]).toBe(configuredSecret);
    expect(redactDeep({ text: configuredSecret }).text).toBe(configuredSecret);
  });

  it("keeps identities apart and stable, without the secret", () => {
    const clean = "checkout/HighErrorRate";
    expect(redactor.identity(clean)).toBe(clean);
    const one = redactor.identity(`checkout/${configuredSecret}`);
    const two = redactor.identity(`checkout/${configuredSecret}-2`);
    expect(one).not.toContain(configuredSecret);
    expect(one).toMatch(/^checkout\/\[REDACTED\]#[0-9a-f]{32}$/);
    expect(two).not.toBe(one);
    expect(redactor.identity(`checkout/${configuredSecret}`)).toBe(one);
    expect(createRedactor({ secrets: [configuredSecret] }).identity(`checkout/${configuredSecret}`)).toBe(
      one,
    );
    // Stored identities are not changed again by a later redaction.
    expect(redactor.redact(one)).toBe(one);
  });
});
