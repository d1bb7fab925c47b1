import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DecisionInput } from "@selfheal/core";
import { makeDecisionInput } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInProcess } from "./cli-harness.js";

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "selfheal-cli-policy-"));
  await writeFile(join(folder, "input.json"), JSON.stringify(makeDecisionInput()));
  await writeFile(join(folder, "default.yaml"), "policy: { builtin: {} }\n");
  await writeFile(join(folder, "strict.yaml"), "policy: { builtin: { errorRateThreshold: 0.5 } }\n");
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("selfheal policy eval", () => {
  it("prints the configured policy's decision on an input", async () => {
    const answer = await runInProcess(
      ["policy", "eval", "-c", "default.yaml", "--input", "input.json", "--json"],
      {
        cwd: folder,
      },
    );
    expect(answer.code).toBe(0);
    expect(JSON.parse(answer.stdout)).toEqual({
      policy: "builtin",
      decision: {
        action: "rollback",
        params: { image: "registry.example.com/checkout:v1.1.0" },
        reason: expect.stringContaining("error rate 0.3 > 0.05"),
        escalate: false,
      },
    });
  });

  it("uses the policy's settings from the config", async () => {
    const answer = await runInProcess(["policy", "eval", "-c", "strict.yaml", "-i", "input.json"], {
      cwd: folder,
    });
    expect(answer.code).toBe(0);
    expect(answer.stdout).toContain("action: none\n");
    expect(answer.stdout).toContain("threshold 0.5");
  });

  it("answers 2 without --input, on a file that is not a decision input, and without eval", async () => {
    await writeFile(join(folder, "bad.json"), JSON.stringify({ service: "" }));
    const missing = await runInProcess(["policy", "eval", "-c", "default.yaml"], { cwd: folder });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--input FILE is required");
    const bad = await runInProcess(["policy", "eval", "-c", "default.yaml", "-i", "bad.json"], {
      cwd: folder,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.json: not a decision input:\n {2}alert: /);
    expect((await runInProcess(["policy", "-i", "input.json"], { cwd: folder })).code).toBe(2);
  });
});

/**
 * A stand-in OPA that answers only the Data API call the spec (contracts/opa-rest-api.md)
 * defines for our decision, and records anything else as a failure.
 */
async function startOpaStandIn(token: string) {
  const spec = await readFile(
    new URL("../../../../shared/contracts/opa-rest-api.md", import.meta.url),
    "utf8",
  );
  for (const needle of [
    "POST /v1/data/{path:.+}",
    '"input": ...',
    "| `result` |",
    "Authorization: Bearer <token>",
  ]) {
    if (!spec.includes(needle)) throw new Error(`contracts/opa-rest-api.md no longer says ${needle}`);
  }
  const failures: string[] = [];
  let decisions = 0;
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on("end", () => {
      const where = `${request.method} ${request.url}`;
      if (where !== "POST /v1/data/selfheal/decision")
        failures.push(`undefined by the spec for us: ${where}`);
      else if (!request.headers["content-type"]?.startsWith("application/json")) failures.push("not JSON");
      else if (request.headers.authorization !== `Bearer ${token}`) failures.push("no bearer token");
      else {
        const parsed = (() => {
          try {
            return JSON.parse(body) as { input?: unknown };
          } catch {
            return {};
          }
        })();
        const keys = Object.keys(parsed);
        if (keys.length !== 1 || !DecisionInput.safeParse(parsed.input).success)
          failures.push(`body ${body}`);
        else {
          decisions++;
          response.writeHead(200, { "content-type": "application/json" });
          response.end(
            JSON.stringify({
              result: { action: "scale_up", params: { replicas: 4 }, reason: "opa: cpu high" },
            }),
          );
          return;
        }
      }
      response.writeHead(404, { "content-type": "application/json" });
      response.end(JSON.stringify({ code: "resource_not_found", message: "no such document" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    failures,
    decisions: () => decisions,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("selfheal policy eval with OPA", () => {
  it("asks the configured OPA, with its path and token, and prints its decision", async () => {
    const opa = await startOpaStandIn("opa-secret");
    try {
      await writeFile(
        join(folder, "opa.yaml"),
        `policy:\n  opa:\n    url: ${opa.url}\n    path: selfheal/decision\n    token: \${OPA_TOKEN}\n`,
      );
      const answer = await runInProcess(["policy", "eval", "-c", "opa.yaml", "-i", "input.json", "--json"], {
        cwd: folder,
        env: { OPA_TOKEN: "opa-secret" },
      });
      expect(opa.failures).toEqual([]);
      expect(answer.code, answer.stderr).toBe(0);
      expect(JSON.parse(answer.stdout)).toEqual({
        policy: "opa:selfheal/decision",
        decision: { action: "scale_up", params: { replicas: 4 }, reason: "opa: cpu high", escalate: false },
      });
      expect(opa.decisions()).toBe(1);
    } finally {
      await opa.close();
    }
  });
});
