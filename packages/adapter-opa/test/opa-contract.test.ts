import { testPolicyContract } from "@selfheal/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OpaPolicy, opaPolicy } from "../src/index.js";
import { opaGate, type RunningOpa, shippedPolicyFile, startOpa } from "../src/testing/index.js";
import { loadCorpusInputs } from "./corpus.js";
import { call, closedPort, path, useOpaStandIns } from "./helpers.js";
import { loadOpaSpec, startOpaStandIn } from "./opa-stand-in.js";

const { standIn, policy } = useOpaStandIns();

describe("opaPolicy ready()", () => {
  it("is true on 200 from GET /health", async () => {
    const opa = await standIn();
    expect(await policy(opa.url).ready(call())).toBe(true);
    expect(opa.healthChecks).toEqual([""]);
  });

  it("asks ?bundles&plugins when told to", async () => {
    const opa = await standIn();
    expect(await policy(opa.url, { health: { bundles: true, plugins: true } }).ready(call())).toBe(true);
    expect(opa.healthChecks).toEqual(["?bundles&plugins"]);
  });

  it("is false on 500 and when OPA is unreachable", async () => {
    const opa = await standIn({ health: 500 });
    expect(await policy(opa.url, { retries: 0 }).ready(call())).toBe(false);
    const url = `http://127.0.0.1:${await closedPort()}`;
    expect(await policy(url, { retries: 0 }).ready(call())).toBe(false);
  });
});

describe("OPA stand-in", () => {
  it("answers a malformed body 400 with OPA's error shape, and flags it", async () => {
    const opa = await startOpaStandIn(await loadOpaSpec());
    try {
      const response = await fetch(`${opa.url}/v1/data/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        code: "invalid_parameter",
        message: "body contains malformed JSON",
      });
      expect(() => opa.verify()).toThrow(/malformed JSON body/);
    } finally {
      await opa.close();
    }
  });

  it("flags requests the spec does not define and unused expectations", async () => {
    const opa = await startOpaStandIn(await loadOpaSpec());
    try {
      opa.expect({ path, answer: () => ({ status: 200 }) });
      const response = await fetch(`${opa.url}/v0/data/${path}`, { method: "POST", body: "{}" });
      expect(response.status).toBe(404);
      expect(() => opa.verify()).toThrow(/POST \/v0\/data\/selfheal\/decision[\s\S]*used 0 of 1 times/);
    } finally {
      await opa.close();
    }
  });
});

const corpusInputs = await loadCorpusInputs();
const gate = await opaGate();

// The policy contract every selfheal policy passes, run on opaPolicy against a real OPA serving
// the shipped Rego (opa-corpus.test.ts compares its decisions with the built-in policy's).
describe.skipIf(gate.skip)(
  `opaPolicy over a real OPA with the shipped policy${gate.skip ? ` (${gate.why})` : ""}`,
  () => {
    let opa: RunningOpa;
    const own: OpaPolicy[] = [];
    beforeAll(async () => {
      opa = await startOpa({ files: [shippedPolicyFile] });
    });
    afterAll(async () => {
      for (const created of own) await created.close();
      await opa.stop();
    });
    const setup = () => {
      const created = opaPolicy({ url: opa.url, path });
      own.push(created);
      return created;
    };

    testPolicyContract("opaPolicy", setup, corpusInputs);

    it("ready() is true on OPA's 200 from /health, also with ?bundles&plugins", async () => {
      expect(await setup().ready(call())).toBe(true);
      const strict = opaPolicy({ url: opa.url, health: { bundles: true, plugins: true } });
      own.push(strict);
      expect(await strict.ready(call())).toBe(true);
    });
  },
);
