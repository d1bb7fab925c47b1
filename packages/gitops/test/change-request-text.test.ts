import { execFileSync } from "node:child_process";
import { type Decision, incidentTraceId, type RemediationPlan } from "@selfheal/core";
import { makeDecisionInput, makeIncident } from "@selfheal/core/testing";
import { describe, expect, it } from "vitest";
import { changeRequestText, formatTrailers, maxTitleLength } from "../src/index.js";

const incident = makeIncident({
  annotations: {
    summary: "checkout error rate above 5%",
    description: "5xx ratio is 30% since v1.2.0 rolled out.\nSee the dashboard.",
  },
});

const decision: Decision & { policy: string } = {
  action: "rollback",
  params: {},
  reason: "error rate 30% after deploy of v1.2.0; previous image known",
  escalate: false,
  decision_id: "8d1f3c2e-4b5a-4c6d-9e7f-0a1b2c3d4e5f",
  policy: "opa:selfheal/remediation",
};

const diff = [
  "--- a/apps/checkout/deployment.yaml",
  "+++ b/apps/checkout/deployment.yaml",
  "@@ -18,7 +18,7 @@ spec:",
  "       containers:",
  "         - name: checkout",
  "-          image: registry.example.com/checkout:v1.2.0",
  "+          image: registry.example.com/checkout:v1.1.0",
].join("\n");

const plan: RemediationPlan = {
  idempotencyKey: "checkout-higherrorrate-0123456789/rollback",
  incidentId: incident.id,
  service: "checkout",
  action: "rollback",
  params: { image: "registry.example.com/checkout:v1.1.0" },
  remediator: "gitops",
  summary: "Roll checkout back from v1.2.0 to v1.1.0.",
  changes: [
    {
      target: "apps/checkout/deployment.yaml",
      description: "image registry.example.com/checkout:v1.2.0 → v1.1.0",
      diff,
    },
  ],
};

const input = makeDecisionInput();

const headings = (body: string): string[] =>
  body
    .split("\n")
    .filter((line) => line.startsWith("## "))
    .map((line) => line.slice(3));

describe("changeRequestText", () => {
  it("names the incident's trace, the id a tracing backend finds it by", () => {
    const { body } = changeRequestText({ incident, decision, plan, input });
    const traceId = incidentTraceId(incident.id);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(body).toContain(`- **Trace:** \`${traceId}\``);
    expect(incidentTraceId(`${incident.id}x`)).not.toBe(traceId);
  });

  it("says when Alertmanager left alerts out of the notification, and only then", () => {
    const truncated = changeRequestText({
      incident: { ...incident, truncatedAlerts: 3 },
      decision,
      plan,
      input,
    });
    expect(truncated.body).toContain(
      "- **Alerts left out:** Alertmanager left out 3 alerts of this notification (max_alerts)",
    );
    expect(changeRequestText({ incident, decision, plan, input }).body).not.toContain("left out");
  });

  it("writes every section, in order", () => {
    const text = changeRequestText({ incident, decision, plan, input });
    expect(headings(text.body)).toEqual([
      "What fired",
      "Evidence",
      "Decision",
      "Change",
      "Incident",
      "Stop automation",
    ]);
    expect(text.body).toContain("HighErrorRate");
    expect(text.body).toContain("critical");
    expect(text.body).toContain("checkout error rate above 5%");
    expect(text.body).toContain("> See the dashboard.");
    expect(text.body).toContain("`2026-08-20T10:15:30.123Z`");
    expect(text.body).toContain("`5c2a8e0f3b7d41a9`");
    expect(text.body).toContain("opa:selfheal/remediation");
    expect(text.body).toContain("`8d1f3c2e-4b5a-4c6d-9e7f-0a1b2c3d4e5f`");
    expect(text.body).toContain("**Escalate:** no");
    expect(text.body).toContain("> Roll checkout back from v1.2.0 to v1.1.0.");
    expect(text.body).toContain("`apps/checkout/deployment.yaml`");
    expect(text.body).toContain("`checkout/HighErrorRate`");
    expect(text.body).toContain("`selfheal/skip`");
    expect(text.body).toContain("close it to cancel");
    expect(text.body).toContain("`SELFHEAL_KILL_SWITCH=1`");
    expect(text.body).not.toMatch(/resetCircuit/i);
    expect(text.labels).toEqual(["selfheal", "selfheal/rollback"]);
    expect(text.title).toBe("selfheal: rollback checkout (HighErrorRate)");
  });

  it("shows a missing metric as unknown, never 0, with an unknown query", () => {
    const { body } = changeRequestText({ incident, decision, plan, input });
    expect(body).toContain("| error\\_rate | 0.3 | query unknown |");
    expect(body).toContain("| restart\\_count | 5 | query unknown |");
    expect(body).toContain("| cpu\\_usage | unknown | query unknown |");
    expect(body).not.toMatch(/\| 0 \|/);
  });

  it("shows the query an enricher recorded for a metric", () => {
    const withQueries = makeDecisionInput({
      facts: {
        prometheus: { queries: { error_rate: { query: "sum(rate(x[5m]))", status: "ok", value: 0.3 } } },
      },
    });
    const { body } = changeRequestText({
      incident,
      decision,
      plan,
      input: { ...withQueries, metrics: input.metrics },
    });
    expect(body).toContain("| error\\_rate | 0.3 | `sum(rate(x[5m]))` |");
    expect(body).toContain("| restart\\_count | 5 | query unknown |");
  });

  it("prefers explicit evidence and keeps pipes and backticks inside their cells", () => {
    const { body } = changeRequestText({
      incident,
      decision,
      plan,
      input,
      evidence: [
        {
          name: "error|rate",
          value: 0.3,
          query: 'sum(rate(http_requests_total{code=~"5..|429"}[5m])) / `x`',
        },
        { name: "latency_p99", value: Number.NaN },
      ],
    });
    const rows = body.split("\n").filter((line) => line.startsWith("| ") && !line.startsWith("| Metric"));
    const errorRow = rows.find((row) => row.includes("error"));
    expect(errorRow).toBe(
      '| error\\|rate | 0.3 | `` sum(rate(http_requests_total{code=~"5..\\|429"}[5m])) / `x` `` |',
    );
    // Each row has exactly four unescaped pipes: three cells.
    for (const row of rows.slice(1)) expect(row.match(/(?<!\\)\|/g)).toHaveLength(4);
    expect(body).toContain("| latency\\_p99 | unknown | query unknown |");
    expect(body).not.toContain("restart\\_count");
  });

  it("escapes user text so it cannot start markup", () => {
    const { body } = changeRequestText({
      incident: makeIncident({ annotations: { summary: "# boom `code` [x](http://e) | <b>" } }),
      decision: { ...decision, reason: "- list\n```\nfence" },
      plan,
    });
    expect(body).toContain("> \\# boom \\`code\\` \\[x\\](http://e) \\| \\<b\\>");
    expect(body).toContain("**Reason:** \\- list \\`\\`\\` fence");
    expect(body).toContain("No metrics were recorded.");
  });

  it("redacts tokens and URL credentials in every field", () => {
    const token = "ghp_0123456789abcdefABCDEF0123456789abcd";
    const text = changeRequestText({
      incident: makeIncident({
        annotations: {
          summary: `leaked ${token} here`,
          description: "runbook https://user:pass@wiki.example.com/page",
        },
        labels: { severity: `sev ${token}` },
      }),
      decision: { ...decision, reason: `because ${token}` },
      plan: { ...plan, changes: [{ target: "a.yaml", description: "x", diff: `+token: ${token}` }] },
      evidence: [{ name: "m", value: 1, query: `up{t="${token}"}` }],
      controllerUrl: "https://admin:secret@selfheal.example.com/incidents/1",
    });
    const all = JSON.stringify(text);
    expect(all).not.toContain(token);
    expect(all).not.toContain("0123456789abcdef");
    expect(all).not.toContain("user:pass");
    expect(all).not.toContain("admin:secret");
    expect(text.body).toContain("REDACTED");
  });

  it("keeps the title within 72 characters, cutting the service", () => {
    const service = `checkout-${"x".repeat(100)}`;
    const { title } = changeRequestText({
      incident: makeIncident({ service }),
      decision,
      plan: { ...plan, service },
      input,
    });
    expect([...title].length).toBeLessThanOrEqual(maxTitleLength);
    expect(title).toMatch(/^selfheal: rollback checkout-x+… \(HighErrorRate\)$/);
    const long = changeRequestText({
      incident: makeIncident({ alertname: "A".repeat(100) }),
      decision,
      plan,
      input,
    });
    expect([...long.title].length).toBeLessThanOrEqual(maxTitleLength);
    expect(long.title.endsWith("…")).toBe(true);
  });

  it("fences a diff that itself contains a fence", () => {
    const tricky = "+```\n+## not a heading\n+````\n-```";
    const { body } = changeRequestText({
      incident,
      decision,
      plan: { ...plan, changes: [{ target: "README.md", description: "docs", diff: tricky }] },
    });
    const start = body.indexOf("`````diff");
    expect(start).toBeGreaterThan(-1);
    const block = body.slice(start).split("\n");
    const close = block.findIndex((line, index) => index > 0 && /^\s*`{5,}\s*$/.test(line));
    expect(block.slice(1, close).map((line) => line.trim())).toEqual(tricky.split("\n"));
    expect(headings(body)).toEqual([
      "What fired",
      "Evidence",
      "Decision",
      "Change",
      "Incident",
      "Stop automation",
    ]);
  });

  it("names a custom kill switch and file", () => {
    const { body } = changeRequestText({
      incident,
      decision,
      plan,
      killSwitch: { env: "OPS_STOP", file: "/etc/selfheal/stop" },
      controllerUrl: "https://selfheal.example.com/incidents/checkout-higherrorrate-0123456789",
    });
    expect(body).toContain("`OPS_STOP=1`");
    expect(body).toContain("`/etc/selfheal/stop`");
    expect(body).toContain("<https://selfheal.example.com/incidents/checkout-higherrorrate-0123456789>");
  });
});

describe("trailers", () => {
  it("links the commit to the incident, decision and alert", () => {
    const { trailers } = changeRequestText({ incident, decision, plan });
    expect(trailers).toEqual({
      "Selfheal-Incident": "checkout-higherrorrate-0123456789",
      "Selfheal-Action": "rollback",
      "Alert-Fingerprint": "5c2a8e0f3b7d41a9",
      "Selfheal-Decision": "8d1f3c2e-4b5a-4c6d-9e7f-0a1b2c3d4e5f",
    });
    // Without an engine's id (the built-in policy): the policy and when it decided.
    const { decision_id: _omitted, ...rest } = decision as typeof decision & { policy?: string };
    const { policy: _policy, ...withoutId } = rest;
    expect(
      changeRequestText({
        incident,
        decision: { ...withoutId, policy: "builtin", decidedAt: "2026-08-20T10:16:00.000Z" },
        plan,
      }).trailers["Selfheal-Decision"],
    ).toBe("builtin@2026-08-20T10:16:00.000Z");
    // Nothing to name it by: no trailer rather than a made-up one.
    expect(changeRequestText({ incident, decision: withoutId, plan }).trailers).not.toHaveProperty(
      "Selfheal-Decision",
    );
  });

  it("formats lines git interpret-trailers parses back", () => {
    const { trailers } = changeRequestText({ incident, decision, plan });
    const lines = formatTrailers({ ...trailers, "Odd Key": "two\nlines" });
    expect(lines.split("\n")).toEqual([
      "Selfheal-Incident: checkout-higherrorrate-0123456789",
      "Selfheal-Action: rollback",
      "Alert-Fingerprint: 5c2a8e0f3b7d41a9",
      "Selfheal-Decision: 8d1f3c2e-4b5a-4c6d-9e7f-0a1b2c3d4e5f",
      "Odd-Key: two lines",
    ]);
    const message = `${"selfheal: rollback checkout (HighErrorRate)"}\n\nbody\n\n${lines}\n`;
    const parsed = execFileSync("git", ["interpret-trailers", "--parse"], {
      input: message,
      encoding: "utf8",
    });
    expect(parsed.trimEnd()).toBe(lines);
  });
});
