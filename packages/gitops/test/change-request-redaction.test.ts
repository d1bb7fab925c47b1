import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRedactor, type RemediationPlan } from "@selfheal/core";
import { makeIncident } from "@selfheal/core/testing";
import { expect, it } from "vitest";
import { changeRequestText, gitopsRemediator, openGitWorkspace } from "../src/index.js";
import {
  createCheckoutConfigRepo,
  remediationScenario,
  scenarioSignal,
  startGitHttpServer,
} from "../src/testing/index.js";

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

it("plans a commit message and change request with the controller's redactor", async () => {
  const server = await startGitHttpServer();
  const scratch = await mkdtemp(join(tmpdir(), "selfheal-plan-redaction-"));
  try {
    const repo = await createCheckoutConfigRepo(server, "plan-redaction");
    const remediator = gitopsRemediator({
      workspace: openGitWorkspace({ url: repo.url, dir: join(scratch, "clone") }),
    });
    const checkout = makeIncident({
      ...remediationScenario.incident,
      annotations: { summary: `x ${secret}` },
    });
    const options = {
      incident: checkout,
      decision: { ...remediationScenario.decision, reason: `because ${secret}` },
      idempotencyKey: `${checkout.id}/rollback`,
      signal: scenarioSignal(),
    };
    const textOf = (plan: RemediationPlan) => JSON.stringify(plan.details?.gitops ?? null);
    // Without the controller's redactor, a configured secret is not known: it shows.
    expect(textOf(await remediator.plan(options))).toContain(`because ${secret}`);
    const plan = await remediator.plan({ ...options, redactor: createRedactor({ secrets: [secret] }) });
    expect(textOf(plan)).not.toContain("word_2026");
    expect(textOf(plan)).not.toContain("word\\\\_2026");
    expect(textOf(plan)).toContain("because [REDACTED]");
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }
});
