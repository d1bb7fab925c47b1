import { z } from "zod";
import { JsonValue } from "./common.js";
import { Decision, DecisionInput } from "./decision.js";

/** A JSON Schema (draft 2020-12) document. */
export type JsonSchemaDocument = z.core.JSONSchema.BaseSchema;

function generate(
  schema: z.ZodType,
  io: "input" | "output",
  header: { $id: string; title: string; description: string },
): JsonSchemaDocument {
  // A registry of our own, made per call: it names the recursive JSON value `JsonValue` in
  // `$defs` (instead of zod's generated `__schema0`) without touching zod's global registry.
  const metadata = z.registry<{ id: string }>();
  metadata.add(JsonValue, { id: "JsonValue" });
  const { $schema: _generated, ...body } = z.toJSONSchema(schema, { target: "draft-2020-12", io, metadata });
  // `$schema`, `$id`, `title` and `description` lead, so a reader sees them first.
  return { $schema: "https://json-schema.org/draft/2020-12/schema", ...header, ...body };
}

/**
 * The JSON Schema of `DecisionInput`, what every policy receives (OPA as `input`). Generated from
 * the zod schema, so it cannot drift; shipped as `@selfheal/core/schema/decision-input.json`.
 *
 * It describes the input as the controller sends it (zod's output side): objects declare no
 * properties beyond the listed ones, so a type-checking policy engine flags a misspelt field.
 */
export function decisionInputJsonSchema(): JsonSchemaDocument {
  return generate(DecisionInput, "output", {
    $id: "https://selfheal.dev/schema/decision-input.json",
    title: "selfheal DecisionInput",
    description:
      "What a selfheal policy decides on: the alert (labels, annotations), the service, the incident, " +
      "metrics (a missing metric is unknown, not 0), replicas, the deployment as the config repository " +
      "states it, the service's recent automated actions (newest first) and the time of the decision.",
  });
}

/**
 * The JSON Schema of `Decision` as a policy may write it (zod's input side): only `action` and
 * `reason` are required; `params` defaults to `{}` and `escalate` to `false`. Unknown properties
 * are allowed and ignored. Shipped as `@selfheal/core/schema/decision.json`.
 */
export function decisionJsonSchema(): JsonSchemaDocument {
  return generate(Decision, "input", {
    $id: "https://selfheal.dev/schema/decision.json",
    title: "selfheal Decision",
    description:
      "What a selfheal policy returns: an action (none, rollback, scale_up or a custom one) with its " +
      "parameters, the reason an on-call engineer reads, and whether to escalate to a human.",
  });
}
