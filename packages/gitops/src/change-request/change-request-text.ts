import {
  createRedactor,
  type Decision,
  type DecisionInput,
  type Incident,
  incidentTraceId,
  type Redactor,
  type RemediationPlan,
  redact,
} from "@selfheal/core";
import { codeSpan, fencedBlock, inlineText, quotedText } from "./markdown.js";

/** One fact shown in the "Evidence" table. */
export interface ChangeRequestEvidence {
  /** The metric's name (`error_rate`). */
  readonly name: string;
  /** Its value; a non-finite number or an empty string is shown as "unknown". */
  readonly value: number | string;
  /** The query that produced it (PromQL), when known. */
  readonly query?: string;
}

/** How operators stop the automation, as the change request tells them. */
export interface ChangeRequestKillSwitch {
  /**
   * Environment variable that, set to `1`, stops all automated actions.
   * @default "SELFHEAL_KILL_SWITCH"
   */
  readonly env?: string;
  /** File whose presence stops all automated actions, when configured. */
  readonly file?: string;
}

/** Options of {@link changeRequestText}. */
export interface ChangeRequestTextOptions {
  /** The incident the change is for. */
  readonly incident: Incident;
  /** The decision, with the policy that made it and when, as the controller records it. */
  readonly decision: Decision & { readonly policy?: string; readonly decidedAt?: string };
  /** The plan the change request carries out. */
  readonly plan: RemediationPlan;
  /** The facts the policy saw; its metrics fill the "Evidence" table when `evidence` is absent. */
  readonly input?: DecisionInput;
  /** Evidence to show instead of `input.metrics`. */
  readonly evidence?: readonly ChangeRequestEvidence[];
  /** How operators stop automation. @default `{ env: "SELFHEAL_KILL_SWITCH" }` */
  readonly killSwitch?: ChangeRequestKillSwitch;
  /** Link to the controller's page for this incident, when it has one. */
  readonly controllerUrl?: string;
  /**
   * Hides the controller's configured secrets and the known credential shapes in every text the
   * change request shows (applied to each input before it is escaped, and to the whole body).
   * @default createRedactor() (known credential shapes only)
   */
  readonly redactor?: Redactor;
}

/** Title, markdown body, labels and commit trailers of a change request. */
export interface ChangeRequestText {
  /** `selfheal: <action> <service> (<alertname>)`, at most {@link maxTitleLength} characters. */
  readonly title: string;
  /** GitHub/GitLab markdown; every interpolated string is redacted and escaped. */
  readonly body: string;
  /** `["selfheal", "selfheal/<action>"]`. */
  readonly labels: string[];
  /** Commit trailers linking the change back to the incident; see {@link formatTrailers}. */
  readonly trailers: Record<string, string>;
}

/** Longest title: git's customary subject line limit. */
export const maxTitleLength = 72;

/** Label that, put on the change request, tells the controller to leave it alone. */
export const skipLabel = "selfheal/skip";

/** Metrics a policy commonly reads; shown even when missing, so "unknown" is visible. */
const wellKnownMetrics: readonly string[] = ["error_rate", "restart_count", "cpu_usage"];

/**
 * The text of the change request (pull or merge request) that carries out `plan`: what fired,
 * the evidence, the decision, the change, the incident and how to stop automation. Pure: the
 * same options always give the same text, so a retry finds its own change request unchanged.
 */
export function changeRequestText(raw: ChangeRequestTextOptions): ChangeRequestText {
  const { redactor: given, ...shown } = raw;
  const redactor = given ?? createRedactor();
  // Redacted before any escaping: an escaped `_` or `*` would hide a secret from the redactor.
  const options: ChangeRequestTextOptions = redactor.redactDeep(shown);
  const { incident, decision, plan } = options;
  const sections = [
    whatFired(incident),
    evidenceSection(options),
    decisionSection(decision),
    changeSection(plan),
    incidentSection(incident, options.controllerUrl),
    stopSection(options.killSwitch),
  ];
  const trailers: Record<string, string> = {
    "Selfheal-Incident": incident.id,
    "Selfheal-Action": plan.action,
    "Alert-Fingerprint": incident.fingerprint,
  };
  // The policy engine's id when it has one (OPA), else the policy and the time it decided: every
  // commit names the decision it carries out.
  const decisionId =
    decision.decision_id ??
    (decision.policy === undefined
      ? undefined
      : `${decision.policy}@${decision.decidedAt ?? incident.openedAt}`);
  if (decisionId !== undefined) trailers["Selfheal-Decision"] = decisionId;
  return {
    title: title(plan.action, plan.service, incident.alertname),
    body: redactor.redact(`${sections.join("\n\n")}\n`),
    labels: ["selfheal", `selfheal/${oneLine(plan.action)}`],
    trailers: Object.fromEntries(Object.entries(trailers).map(([key, value]) => [key, oneLine(value)])),
  };
}

/**
 * Git trailer lines (`Key: value`, one a line) as `git interpret-trailers` reads them. Keys are
 * reduced to letters, digits and `-`; values to one line.
 */
export function formatTrailers(trailers: Readonly<Record<string, string>>): string {
  return Object.entries(trailers)
    .map(([key, value]) => `${key.replace(/[^A-Za-z0-9-]+/g, "-")}: ${oneLine(value)}`)
    .join("\n");
}

function title(action: string, service: string, alertname: string): string {
  const full = `selfheal: ${oneLine(action)} ${oneLine(service)} (${oneLine(alertname)})`;
  if ([...full].length <= maxTitleLength) return full;
  const fixed = [...`selfheal: ${oneLine(action)}  (${oneLine(alertname)})`].length;
  const room = maxTitleLength - fixed - 1;
  if (room >= 1) {
    return `selfheal: ${oneLine(action)} ${[...oneLine(service)].slice(0, room).join("")}… (${oneLine(alertname)})`;
  }
  // Even an empty service does not fit: the alert name is too long, cut the whole title.
  return `${[...full].slice(0, maxTitleLength - 1).join("")}…`;
}

function whatFired(incident: Incident): string {
  const lines = [
    "## What fired",
    "",
    `- **Alert:** ${inlineText(incident.alertname)}`,
    `- **Severity:** ${inlineText(incident.labels.severity ?? "unknown")}`,
    `- **Started at:** ${codeSpan(incident.startsAt)}`,
    `- **Fingerprint:** ${codeSpan(incident.fingerprint)}`,
  ];
  if (incident.truncatedAlerts !== undefined && incident.truncatedAlerts > 0) {
    const count = incident.truncatedAlerts;
    lines.push(
      `- **Alerts left out:** Alertmanager left out ${count} alert${count === 1 ? "" : "s"} of this notification (max_alerts): this change was decided on part of the group`,
    );
  }
  for (const name of ["summary", "description"]) {
    const text = incident.annotations[name];
    if (text !== undefined && text.trim() !== "")
      lines.push("", `**${capitalise(name)}:**`, "", quotedText(text));
  }
  return lines.join("\n");
}

function evidenceSection(options: ChangeRequestTextOptions): string {
  const rows = options.evidence ?? metricEvidence(options.input);
  const lines = ["## Evidence", ""];
  if (rows.length === 0) return [...lines, "No metrics were recorded."].join("\n");
  lines.push("| Metric | Value | Query |", "| --- | --- | --- |");
  for (const row of rows) {
    const query = row.query === undefined || row.query.trim() === "" ? "query unknown" : codeSpan(row.query);
    lines.push(`| ${inlineText(row.name)} | ${inlineText(formatValue(row.value))} | ${query} |`);
  }
  return lines.join("\n");
}

function metricEvidence(input: DecisionInput | undefined): ChangeRequestEvidence[] {
  if (input === undefined) return [];
  const metrics: Readonly<Record<string, number | undefined>> = input.metrics;
  const names = [
    ...wellKnownMetrics,
    ...Object.keys(metrics).filter((name) => !wellKnownMetrics.includes(name)),
  ];
  // A metric the enrichers could not read is absent: NaN renders as "unknown", never 0.
  return names.map((name) => {
    const query = queryOf(input, name);
    return { name, value: metrics[name] ?? Number.NaN, ...(query === undefined ? {} : { query }) };
  });
}

/**
 * The query an enricher ran for `metric`, when it recorded one in its facts as
 * `{ queries: { <metric>: { query } } }` (the Prometheus enricher does).
 */
function queryOf(input: DecisionInput, metric: string): string | undefined {
  for (const facts of Object.values(input.facts ?? {})) {
    if (typeof facts !== "object" || facts === null || Array.isArray(facts)) continue;
    const queries = facts.queries;
    if (typeof queries !== "object" || queries === null || Array.isArray(queries)) continue;
    const entry = queries[metric];
    if (
      typeof entry === "object" &&
      entry !== null &&
      !Array.isArray(entry) &&
      typeof entry.query === "string"
    ) {
      return entry.query;
    }
  }
  return undefined;
}

function formatValue(value: number | string): string {
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "unknown";
  return value.trim() === "" ? "unknown" : value;
}

function decisionSection(decision: Decision & { readonly policy?: string }): string {
  const lines = [
    "## Decision",
    "",
    `- **Action:** ${codeSpan(decision.action)}`,
    `- **Reason:** ${inlineText(decision.reason)}`,
    `- **Policy:** ${inlineText(decision.policy ?? "unknown")}`,
  ];
  if (decision.decision_id !== undefined) lines.push(`- **Decision id:** ${codeSpan(decision.decision_id)}`);
  lines.push(`- **Escalate:** ${decision.escalate ? "yes" : "no"}`);
  return lines.join("\n");
}

function changeSection(plan: RemediationPlan): string {
  const lines = ["## Change", ""];
  if (plan.summary.trim() !== "") lines.push(quotedText(plan.summary), "");
  lines.push(`- **Remediator:** ${inlineText(plan.remediator)}`);
  if (Object.keys(plan.params).length > 0)
    lines.push(`- **Parameters:** ${codeSpan(JSON.stringify(plan.params))}`);
  if (plan.changes.length === 0) return [...lines, "", "Nothing to change."].join("\n");
  lines.push("");
  for (const change of plan.changes) {
    lines.push(`- ${codeSpan(change.target)}: ${inlineText(change.description)}`);
    if (change.diff !== undefined && change.diff.trim() !== "") {
      // Indented under its list item so the block belongs to the change it shows.
      lines.push("", indent(fencedBlock(change.diff, "diff"), "  "), "");
    }
  }
  return lines.join("\n").replace(/\n+$/, "");
}

function incidentSection(incident: Incident, controllerUrl: string | undefined): string {
  const lines = [
    "## Incident",
    "",
    `- **Id:** ${codeSpan(incident.id)}`,
    `- **Key:** ${codeSpan(incident.key)}`,
    `- **Opened at:** ${codeSpan(incident.openedAt)}`,
    // The incident's trace (OTLP), found in a tracing backend by this id.
    `- **Trace:** ${codeSpan(incidentTraceId(incident.id))}`,
  ];
  if (controllerUrl !== undefined) lines.push(`- **Controller:** ${link(controllerUrl)}`);
  return lines.join("\n");
}

function stopSection(killSwitch: ChangeRequestKillSwitch | undefined): string {
  const env = killSwitch?.env ?? "SELFHEAL_KILL_SWITCH";
  const lines = [
    "## Stop automation",
    "",
    `- Add the label ${codeSpan(skipLabel)} to this change request to make selfheal leave it alone; close it to cancel the action.`,
    `- Set ${codeSpan(`${env}=1`)} in the controller's environment to stop all automated actions.`,
  ];
  if (killSwitch?.file !== undefined) {
    lines.push(
      `- Or create the file ${codeSpan(killSwitch.file)} on the controller to stop all automated actions.`,
    );
  }
  return lines.join("\n");
}

/** An autolink for a valid http(s) URL; anything else is shown as code, never as a link. */
function link(url: string): string {
  const clean = redact(url).trim();
  try {
    const parsed = new URL(clean);
    if ((parsed.protocol === "http:" || parsed.protocol === "https:") && !/[\s<>]/.test(clean))
      return `<${clean}>`;
  } catch {
    // Not a URL: fall through to code.
  }
  return codeSpan(clean);
}

function oneLine(text: string): string {
  return redact(text).replace(/\s+/g, " ").trim();
}

function indent(text: string, prefix: string): string {
  return text
    .split("\n")
    .map((line) => (line === "" ? line : `${prefix}${line}`))
    .join("\n");
}

function capitalise(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}
