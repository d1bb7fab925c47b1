import { createRedactor, type RemediationPlan } from "@selfheal/core";
import { makeIncident } from "@selfheal/core/testing";
import { expect, it } from "vitest";
import { changeRequestText } from "../src/index.js";

// Markdown escaping turns `_` and `*` into `\_` and `\*`: a secret with those in it must be
// hidden before the escaping, or the final redaction no longer finds it.
const secret = "db_pass*word_2026";
const incident = makeIncident({
  alertname: "HighErrorRate",
  annotations: { summary: `the password is ${secret}`, description: `again: ${secret}` },
  labels: { severity: secret },
});
const plan: RemediationPlan = {
  idempotencyKey: `${incident.id}/rollback`,
  incidentId: incident.id,
  service: incident.service,
  action: "rollback",
  params: { note: secret },
  remediator: "gitops",
  summary: `roll back (${secret})`,
  changes: [{ target: "apps/checkout.yaml", description: secret, diff: `-a ${secret}\n+b` }],
};
const decision = { action: "rollback", params: {}, reason: `reason ${secret}`, escalate: false } as const;

it("hides the controller's configured secrets in every field, escaped or not", () => {
  const without = JSON.stringify(changeRequestText({ incident, decision, plan }));
  // Without the controller's redactor, the secret shows escaped and raw: the check below can fail.
  expect(without).toContain("db\\\\_pass\\\\*word\\\\_2026");
  const text = changeRequestText({
    incident,
    decision,
    plan,
    redactor: createRedactor({ secrets: [secret] }),
  });
  const shown = JSON.stringify(text);
  expect(shown).not.toContain("word_2026");
  expect(shown).not.toContain("word\\\\_2026");
  expect(text.body).toContain("\\[REDACTED\\]");
});
