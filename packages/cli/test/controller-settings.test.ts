// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are config files, whose ${VAR} is the feature under test
import { readFile } from "node:fs/promises";
import { type Claim, createController, memoryStore, type Store, silentLogger } from "@selfheal/core";
import { describe, expect, it } from "vitest";
import { parseConfig, wireController } from "../src/index.js";

const payloadFile = new URL(
  "../../../../shared/contracts/alertmanager-webhook-example.json",
  import.meta.url,
);

/** A claim as the controller asked for it. */
interface ClaimCall {
  readonly resource: string;
  readonly owner: string;
  readonly ttlMs: number;
}

/**
 * A memory store with the claims of a shared store (PostgreSQL's semantics, minus the
 * database): the controller takes its claim path, and every claim it asks for is recorded.
 */
function claimingStore(calls: ClaimCall[]): Store {
  const store = memoryStore();
  const held = new Map<string, Claim>();
  let token = 0;
  return {
    ...store,
    async claim(resource, owner, ttlMs) {
      calls.push({ resource, owner, ttlMs });
      const current = held.get(resource);
      if (current !== undefined && current.owner !== owner && Date.parse(current.expiresAt) > Date.now())
        return undefined;
      const claim: Claim = {
        resource,
        owner,
        token: current?.owner === owner ? current.token : ++token,
        expiresAt: new Date(Date.now() + ttlMs).toISOString(),
      };
      held.set(resource, claim);
      return claim;
    },
    async releaseClaim(claim) {
      if (held.get(claim.resource)?.token === claim.token) held.delete(claim.resource);
    },
  };
}

describe("the controller section", () => {
  it("names the replica (instanceId) in the audit trail and sets the claim TTL (claimTtl) of a shared store", async () => {
    const config = parseConfig(
      "policy: { builtin: {} }\ncontroller:\n  instanceId: ${POD_NAME}\n  claimTtl: 45s\n",
      "selfheal.yaml",
      { env: { POD_NAME: "selfheal-6f7c9d-x2k4p" } },
    );
    expect(config.controller).toMatchObject({ instanceId: "selfheal-6f7c9d-x2k4p", claimTtl: "45s" });

    const calls: ClaimCall[] = [];
    const store = claimingStore(calls);
    const wired = await wireController(config, {
      baseDir: ".",
      logger: silentLogger,
      store,
      sideEffects: false,
    });
    expect(wired.settings).toMatchObject({ instanceId: "selfheal-6f7c9d-x2k4p", claimTtl: "45s" });

    const controller = createController(wired.settings);
    try {
      const { url } = await controller.listen({ host: "127.0.0.1", port: 0 });
      const answer = await fetch(`${url}/webhook/alertmanager`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: await readFile(payloadFile, "utf8"),
      });
      expect(answer.status).toBe(200);
      await expect
        .poll(async () => (await store.listIncidents({ open: false })).length, { timeout: 10_000 })
        .toBeGreaterThan(0);
    } finally {
      await controller.close();
      await wired.close();
    }

    // Every claim is this replica's, for 45 s; the audit trail names it as the actor.
    const incidentClaims = calls.filter((call) => call.resource.startsWith("incident:"));
    expect(incidentClaims.length).toBeGreaterThan(0);
    expect(new Set(calls.map((call) => `${call.owner} ${call.ttlMs}`))).toEqual(
      new Set(["selfheal-6f7c9d-x2k4p 45000"]),
    );
    const actors = new Set((await memoryEvents(store)).map((event) => event.actor));
    expect(actors).toEqual(new Set(["selfheal-6f7c9d-x2k4p"]));
  });

  it("refuses a claimTtl that is not a duration", () => {
    expect(() =>
      parseConfig("policy: { builtin: {} }\ncontroller: { claimTtl: soon }\n", "selfheal.yaml", { env: {} }),
    ).toThrow(/selfheal\.yaml:2:25 controller\.claimTtl: expected a duration/);
  });
});

async function memoryEvents(store: Store) {
  const events = await store.listEvents();
  expect(events.length).toBeGreaterThan(0);
  return events;
}
