import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  type AuditOutcome,
  type AuditReport,
  auditReport,
  formatMs,
  readFileStore,
  StoreError,
  toMs,
} from "@selfheal/core";
import { wireStore } from "../wire/wire-store.js";
import { type CliIo, exitCodes, UsageError } from "./cli-io.js";
import { commandConfig, unusedByAudit } from "./command-config.js";
import { progress } from "./progress.js";
import { formatReadiness, readinessReport } from "./readiness-report.js";

const outcomes: readonly AuditOutcome[] = [
  "resolved",
  "failed",
  "suppressed",
  "escalated",
  "cancelled",
  "no_action",
  "open",
];

/** `selfheal audit`: the ledger of the configured store, as tables or JSON. */
export async function auditCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      config: { type: "string", short: "c" },
      service: { type: "string" },
      since: { type: "string" },
      until: { type: "string" },
      outcome: { type: "string" },
      json: { type: "boolean" },
      readiness: { type: "boolean" },
      window: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const outcome = values.outcome;
  if (outcome !== undefined && !isOutcome(outcome)) {
    throw new UsageError(
      `--outcome: expected one of ${outcomes.join(", ")}, got ${JSON.stringify(outcome)}`,
      "audit",
    );
  }
  const now = new Date();
  const since = values.since === undefined ? undefined : timeOption("--since", values.since, now);
  const until = values.until === undefined ? undefined : timeOption("--until", values.until, now);
  const loaded = await commandConfig(io, values.config, unusedByAudit);
  const fileDir =
    loaded.config.store.file === undefined
      ? undefined
      : resolve(loaded.baseDir, loaded.config.store.file.dir);
  // Opening a file store creates its folder: reading must not.
  if (fileDir !== undefined && !existsSync(fileDir)) throw new StoreError(`no state folder at ${fileDir}`);
  // A file store is read without its lock, so the audit runs beside the controller that owns it.
  const store =
    fileDir === undefined ? wireStore(loaded.config.store, loaded.baseDir) : await readFileStore(fileDir);
  const reading = progress(io, values.json !== true).step(`reading ${store.name}`);
  if (values.readiness === true) {
    try {
      const window = values.window ?? "30m";
      const rows = await readinessReport(store, {
        windowMs: toMs(window, "--window"),
        ...(values.service === undefined ? {} : { service: values.service }),
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
      });
      reading.done(`${rows.length} service${rows.length === 1 ? "" : "s"}`);
      io.stdout(
        values.json === true
          ? `${JSON.stringify({ window, services: rows }, null, 2)}\n`
          : formatReadiness(rows, window),
      );
      return exitCodes.ok;
    } catch (error) {
      reading.fail();
      throw error;
    } finally {
      await store.close();
    }
  }
  try {
    const report = await auditReport(store, {
      ...(values.service === undefined ? {} : { service: values.service }),
      ...(since === undefined ? {} : { since }),
      ...(until === undefined ? {} : { until }),
      ...(outcome === undefined ? {} : { outcome }),
    });
    reading.done(`${report.incidents.length} incident${report.incidents.length === 1 ? "" : "s"}`);
    io.stdout(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatAudit(report));
    return exitCodes.ok;
  } catch (error) {
    reading.fail();
    throw error;
  } finally {
    await store.close();
  }
}

function isOutcome(value: string): value is AuditOutcome {
  return outcomes.some((known) => known === value);
}

/** An RFC 3339 time, or a duration ago (`24h`). */
function timeOption(name: string, value: string, now: Date): string {
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value)))
    return new Date(value).toISOString();
  try {
    return new Date(now.getTime() - toMs(value, name)).toISOString();
  } catch {
    throw new UsageError(
      `${name}: expected an RFC 3339 time or a duration such as 24h, got ${JSON.stringify(value)}`,
      "audit",
    );
  }
}

/** The report as two text tables: incidents (each with its chain), then services. */
function formatAudit(report: AuditReport): string {
  const rows = report.incidents.map((incident) => [
    incident.openedAt.replace(/\.\d+Z$/, "Z"),
    incident.service,
    // Visible where the alert is named: the incident was decided on part of its group.
    incident.truncatedAlerts === undefined
      ? incident.alertname
      : `${incident.alertname} (+${incident.truncatedAlerts} left out)`,
    incident.action ?? "-",
    incident.outcome,
    incident.mttrMs === undefined ? "-" : formatMs(incident.mttrMs),
    formatMs(incident.alertAgeMs),
    incident.chain
      .map(
        (step) => `${step.stage}${step.status === "ok" ? "" : `(${step.status})`} ${step.at.slice(11, 19)}`,
      )
      .join(" → "),
  ]);
  const services = report.services.map((service) => [
    service.service,
    String(service.incidents),
    String(service.resolved),
    String(service.failed),
    service.successRate === undefined ? "-" : `${Math.round(service.successRate * 100)}%`,
    service.mttrP50Ms === undefined ? "-" : formatMs(service.mttrP50Ms),
  ]);
  // Alerts the webhook refused belong to no incident: listed apart, and only when there are some.
  const rejected = report.rejections.map((rejection) => [
    rejection.at.replace(/\.\d+Z$/, "Z"),
    rejection.source,
    rejection.scope,
    rejection.path ?? "-",
    rejection.reason,
  ]);
  return [
    table(["OPENED", "SERVICE", "ALERT", "ACTION", "OUTCOME", "MTTR", "ALERT AGE", "CHAIN"], rows),
    "",
    table(["SERVICE", "INCIDENTS", "RESOLVED", "FAILED", "SUCCESS", "MTTR P50"], services),
    "",
    ...(rejected.length === 0
      ? []
      : [table(["REJECTED", "SOURCE", "SCOPE", "WHERE", "REASON"], rejected), ""]),
  ].join("\n");
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return `${header.join("  ")}\n(none)`;
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}
