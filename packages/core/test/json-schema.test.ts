import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  Decision,
  DecisionInput,
  decideBuiltin,
  decisionInputJsonSchema,
  decisionJsonSchema,
  type JsonSchemaDocument,
} from "../src/index.js";

/** The subschema at `path`: property names, with `[]` stepping into array items. */
function at(schema: JsonSchemaDocument, ...path: string[]): JsonSchemaDocument {
  let current = schema;
  for (const step of path) {
    const next = step === "[]" ? current.items : current.properties?.[step];
    if (typeof next !== "object" || next === null || Array.isArray(next)) {
      throw new Error(`no object schema at ${path.join(".")} (failed at ${step})`);
    }
    current = next;
  }
  return current;
}

const realisticInput: z.input<typeof DecisionInput> = {
  alert: {
    labels: { alertname: "HighErrorRate", severity: "critical", service: "checkout", namespace: "shop" },
    annotations: { summary: "checkout 5xx above 5%", runbook_url: "https://runbooks.example.com/checkout" },
    status: "firing",
    starts_at: "2026-05-01T11:52:10.512Z",
    fingerprint: "3f2a9c1d0e8b7a65",
  },
  service: "checkout",
  incident: {
    id: "inc_01J9Z5",
    key: "checkout/HighErrorRate",
    alertname: "HighErrorRate",
    opened_at: "2026-05-01T11:52:11Z",
    signal_count: 3,
  },
  metrics: { error_rate: 0.31, restart_count: 6, cpu_usage: 0.42, latency_p99_seconds: 1.8 },
  current_replicas: 3,
  max_replicas: 10,
  deployment: {
    image: "registry.example.com/shop/checkout:v1.2.0",
    previous_image: "registry.example.com/shop/checkout:v1.1.0",
    replicas: 3,
    quarantined: ["registry.example.com/shop/checkout:v1.0.3"],
  },
  history: [
    { incident_id: "inc_01J9Y2", action: "scale_up", at: "2026-05-01T11:40:00+02:00", outcome: "succeeded" },
    { incident_id: "inc_01J9X7", action: "rollback", at: "2026-05-01T09:05:00Z", outcome: "failed" },
  ],
  now: "2026-05-01T12:00:00.000Z",
  facts: { argocd: { sync: "Synced", health: "Degraded", revision: "9f1c2e7" } },
};

describe("decisionInputJsonSchema", () => {
  const schema = decisionInputJsonSchema();

  it("is a draft 2020-12 document with an id, a title and a description", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.$id).toBe("https://selfheal.dev/schema/decision-input.json");
    expect(schema.title).toContain("DecisionInput");
    expect(schema.description).toEqual(expect.any(String));
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });

  it("keeps every field the seed's Rego read", () => {
    expect(at(schema, "alert", "labels").additionalProperties).toEqual({ type: "string" });
    expect(at(schema, "alert", "annotations").additionalProperties).toEqual({ type: "string" });
    for (const metric of ["error_rate", "restart_count", "cpu_usage"]) {
      expect(at(schema, "metrics", metric).type).toBe("number");
    }
    expect(at(schema, "current_replicas").type).toBe("integer");
    expect(at(schema, "max_replicas").type).toBe("integer");
  });

  it("has the new fields: service, deployment, history and now", () => {
    expect(at(schema, "service")).toMatchObject({ type: "string", minLength: 1 });
    expect(at(schema, "deployment", "image").type).toBe("string");
    expect(at(schema, "deployment", "previous_image").type).toEqual(["string", "null"]);
    expect(at(schema, "deployment", "replicas").type).toBe("integer");
    expect(at(schema, "deployment", "quarantined", "[]").type).toBe("string");
    expect(at(schema, "history", "[]", "action").type).toBe("string");
    expect(at(schema, "history", "[]", "at")).toMatchObject({ type: "string", format: "date-time" });
    expect(at(schema, "history", "[]", "outcome").enum).toContain("dry_run");
    expect(at(schema, "history", "[]").required).toEqual(["incident_id", "action", "at", "outcome"]);
    expect(at(schema, "now")).toMatchObject({ type: "string", format: "date-time" });
  });

  it("requires what is always known and leaves the enrichers' facts optional", () => {
    expect(schema.required).toEqual(["alert", "service", "incident", "metrics", "history", "now"]);
    expect(Object.keys(schema.properties ?? {})).toEqual(Object.keys(DecisionInput.shape));
    expect(at(schema, "metrics").required).toBeUndefined();
    expect(at(schema, "metrics").additionalProperties).toEqual({ type: "number" });
  });

  it("names the recursive JSON value instead of a generated id", () => {
    expect(at(schema, "facts").additionalProperties).toEqual({ $ref: "#/$defs/JsonValue" });
    expect(Object.keys(schema.$defs ?? {})).toEqual(["JsonValue"]);
    expect(JSON.stringify(schema)).not.toContain("__schema");
  });
});

describe("decisionJsonSchema", () => {
  const schema = decisionJsonSchema();

  it("is a draft 2020-12 document with an id and a title", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.$id).toBe("https://selfheal.dev/schema/decision.json");
    expect(schema.title).toContain("Decision");
  });

  it("requires only action and reason, as a policy may write it", () => {
    expect(schema.required).toEqual(["action", "reason"]);
    expect(Object.keys(schema.properties ?? {}).sort()).toEqual([
      "action",
      "decision_id",
      "escalate",
      "params",
      "reason",
    ]);
    expect(at(schema, "action").pattern).toBe("^[a-z][a-z0-9_]{0,62}$");
    expect(at(schema, "reason")).toMatchObject({ type: "string", minLength: 1 });
    expect(at(schema, "escalate")).toMatchObject({ type: "boolean", default: false });
    expect(at(schema, "params")).toMatchObject({ type: "object", default: {} });
    // Extra keys from a policy engine are ignored by the parser, so the schema must not reject them.
    expect(schema.additionalProperties).toBeUndefined();
  });

  it("describes what the Decision parser accepts", () => {
    expect(Decision.parse({ action: "none", reason: "nothing to do" })).toEqual({
      action: "none",
      params: {},
      reason: "nothing to do",
      escalate: false,
    });
  });
});

describe("a realistic DecisionInput", () => {
  it("parses and round-trips through JSON unchanged", () => {
    const parsed = DecisionInput.parse(realisticInput);
    expect(parsed).toEqual(realisticInput);
    const overTheWire = JSON.parse(JSON.stringify(parsed));
    expect(DecisionInput.parse(overTheWire)).toEqual(parsed);
  });

  it("uses only properties the schema declares", () => {
    const schema = decisionInputJsonSchema();
    const declared = (path: string[], value: Record<string, unknown>) => {
      const keys = Object.keys(at(schema, ...path).properties ?? {});
      expect(Object.keys(value).filter((key) => !keys.includes(key))).toEqual([]);
    };
    declared([], realisticInput);
    declared(["alert"], realisticInput.alert);
    declared(["incident"], realisticInput.incident);
    declared(["deployment"], realisticInput.deployment ?? {});
    for (const entry of realisticInput.history) declared(["history", "[]"], entry);
  });

  it("gets a decision from the built-in policy", () => {
    const decision = decideBuiltin(DecisionInput.parse(realisticInput));
    expect(decision).toMatchObject({
      action: "rollback",
      params: { image: "registry.example.com/shop/checkout:v1.1.0" },
      escalate: false,
    });
  });
});
