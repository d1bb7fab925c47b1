import type { AuditEvent, Incident, JsonObject, RejectedItem, RemediationPlan } from "@selfheal/core";

/** What the guardrails said about a decision. */
export interface ReplayVerdict {
  /** `allowed`: every guardrail passed (the action would run); `suppressed`; `not_checked`: no action to check. */
  readonly verdict: "allowed" | "suppressed" | "not_checked";
  readonly reason?: string;
  readonly detail: string;
}

/** The change request a plan would open (gitops plans), or the commit it would push. */
export interface ReplayChangeRequest {
  readonly mode?: string;
  readonly branch?: string;
  readonly base?: string;
  readonly title?: string;
  readonly body?: string;
  readonly labels?: readonly string[];
}

/** One incident of a replay. */
export interface ReplayIncident {
  readonly id: string;
  readonly service: string;
  readonly alertname: string;
  /** Where the dry run left it (`suppressed` with reason `dry_run` when the action was planned). */
  readonly state: string;
  readonly decisionInput?: JsonObject;
  readonly decision?: JsonObject;
  readonly guardrails: ReplayVerdict;
  readonly plan?: {
    readonly summary: string;
    readonly changes: RemediationPlan["changes"];
    readonly changeRequest?: ReplayChangeRequest;
  };
  /** Why it ended so, in words. */
  readonly reason?: string;
  /** Alerts the sender left out of the notification (Alertmanager `truncatedAlerts`), when any. */
  readonly truncatedAlerts?: number;
}

/** The incidents of a replay, from the memory store it ran on. */
export function replayIncident(incident: Incident, events: readonly AuditEvent[]): ReplayIncident {
  const decided = events.findLast(
    (event) => event.type === "decision.made" || event.type === "decision.failed",
  );
  const planned = events.findLast((event) => event.type === "remediation.planned");
  const input = objectOf(decided?.data?.input);
  const decision = objectOf(decided?.data?.decision);
  const plan = objectOf(planned?.data?.plan) as RemediationPlan | undefined;
  const gitops = objectOf(objectOf(plan?.details)?.gitops);
  const reason = incident.closeReason ?? incident.suppression?.detail;
  return {
    id: incident.id,
    service: incident.service,
    alertname: incident.alertname,
    state: incident.state,
    ...(input === undefined ? {} : { decisionInput: input }),
    ...(decision === undefined ? {} : { decision }),
    guardrails: verdictOf(incident),
    ...(plan === undefined
      ? {}
      : {
          plan: {
            summary: plan.summary,
            changes: plan.changes,
            ...(gitops === undefined ? {} : { changeRequest: changeRequestOf(gitops) }),
          },
        }),
    ...(reason === undefined ? {} : { reason }),
    ...(incident.truncatedAlerts === undefined ? {} : { truncatedAlerts: incident.truncatedAlerts }),
  };
}

function verdictOf(incident: Incident): ReplayVerdict {
  const suppression = incident.suppression;
  if (suppression?.reason === "dry_run") {
    return { verdict: "allowed", detail: "every guardrail passed; dry run: planned, not carried out" };
  }
  if (suppression !== undefined) {
    return { verdict: "suppressed", reason: suppression.reason, detail: suppression.detail };
  }
  return { verdict: "not_checked", detail: "no action to check" };
}

function changeRequestOf(gitops: JsonObject): ReplayChangeRequest {
  const text = (key: string) => (typeof gitops[key] === "string" ? { [key]: gitops[key] } : {});
  const labels = Array.isArray(gitops.labels)
    ? gitops.labels.filter((label) => typeof label === "string")
    : undefined;
  return {
    ...text("mode"),
    ...text("branch"),
    ...text("base"),
    ...text("title"),
    ...text("body"),
    ...(labels === undefined ? {} : { labels }),
  };
}

function objectOf(value: unknown): JsonObject | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as JsonObject)
    : undefined;
}

/**
 * What the replay says happened, in line with the decision: in a replay every action is a dry
 * run, so "suppressed" alone would read as if a guardrail had stopped it.
 */
function headline(incident: ReplayIncident): string {
  const action = incident.decision?.action;
  const escalate = incident.decision?.escalate === true;
  if (action === undefined) return incident.state;
  if (action === "none") return escalate ? "no action, escalated to a human" : "no action";
  const verdict = incident.guardrails;
  // Every guardrail passed and the plan was made: in a replay, that is as far as it goes.
  if (verdict.verdict === "allowed" && incident.plan !== undefined)
    return `would ${String(action)} (dry run: nothing written)`;
  if (verdict.verdict === "suppressed") return `${String(action)} suppressed (${verdict.reason ?? ""})`;
  if (incident.plan === undefined)
    return `${String(action)} decided, not planned: ${incident.reason ?? incident.state}`;
  return `${String(action)}: ${incident.state}`;
}

/** A replay for people: one block per incident, then the alerts the source rejected. */
export function formatReplay(
  incidents: readonly ReplayIncident[],
  rejected: readonly RejectedItem[] = [],
): string {
  const rejectedText =
    rejected.length === 0
      ? ""
      : `\n== rejected alerts (the webhook answers 200 and records each as signal.rejected)\n${rejected
          .map((item) => `${item.path}: ${item.reason}\n`)
          .join("")}`;
  if (incidents.length === 0) return `No incident: the payload holds no firing alert.\n${rejectedText}`;
  return `${incidents.map(formatIncident).join("\n")}${rejectedText}`;
}

function formatIncident(incident: ReplayIncident): string {
  const lines = [
    `Incident ${incident.id} (${incident.service} / ${incident.alertname}): ${headline(incident)}`,
  ];
  const section = (title: string, body: string) => lines.push("", `== ${title}`, body.trimEnd());
  if (incident.truncatedAlerts !== undefined) {
    lines.push(
      `Alertmanager left out ${incident.truncatedAlerts} alert${incident.truncatedAlerts === 1 ? "" : "s"} of this notification (max_alerts): decided on part of the group`,
    );
  }
  if (incident.decisionInput !== undefined)
    section("decision input", JSON.stringify(incident.decisionInput, null, 2));
  if (incident.decision !== undefined) {
    const { action, reason, params } = incident.decision;
    section("decision", `${String(action)}: ${String(reason)}\nparams: ${JSON.stringify(params ?? {})}`);
  }
  const verdict = incident.guardrails;
  section(
    "guardrails",
    `${verdict.verdict}${verdict.reason === undefined ? "" : ` (${verdict.reason})`}: ${verdict.detail}`,
  );
  const plan = incident.plan;
  if (plan !== undefined) {
    section("plan", plan.summary);
    for (const change of plan.changes) section(`diff ${change.target}`, change.diff ?? change.description);
    const request = plan.changeRequest;
    if (request !== undefined) {
      // A direct commit has a message, not a change request: say what would really happen.
      if (request.mode === "direct") {
        section(
          "commit",
          [
            `direct commit to ${request.base ?? "the branch"}`,
            "",
            request.title ?? "",
            "",
            request.body ?? "",
          ].join("\n"),
        );
      } else {
        section(
          "change request",
          [
            `change request ${request.branch ?? ""} → ${request.base ?? ""}`,
            `title: ${request.title ?? ""}`,
            `labels: ${(request.labels ?? []).join(", ")}`,
            "",
            request.body ?? "",
          ].join("\n"),
        );
      }
    }
  } else if (incident.reason !== undefined) {
    section("outcome", incident.reason);
  }
  return `${lines.join("\n")}\n`;
}
