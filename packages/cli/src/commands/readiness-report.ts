import type { Incident, Store } from "@selfheal/core";

/** How ready one service is to leave observe mode, from its recorded history. */
export interface ServiceReadiness {
  readonly service: string;
  /** Incidents where observe mode planned an action and carried out none (suppressed `dry_run`). */
  readonly wouldAct: number;
  /**
   * Of those, how many alerts resolved by themselves within the window after the incident
   * opened: the action would have been a false trigger (nothing was changed, yet it healed).
   */
  readonly selfResolved: number;
  /** `selfResolved / wouldAct`; absent when nothing would have acted. */
  readonly falseTriggerRate?: number;
  /** Would-be actions by action name (`rollback`, `scale_up`). */
  readonly actions: Readonly<Record<string, number>>;
  /** Decisions a guardrail stopped, by reason (cooldown, rate_limit, ...), observe mode's dry runs apart. */
  readonly suppressed: Readonly<Record<string, number>>;
}

/** The readiness of every service with incidents in the store (within `since`/`until`). */
export async function readinessReport(
  store: Store,
  options: {
    readonly windowMs: number;
    readonly service?: string;
    readonly since?: string;
    readonly until?: string;
  },
): Promise<ServiceReadiness[]> {
  const incidents = await store.listIncidents({
    ...(options.service === undefined ? {} : { service: options.service }),
    ...(options.since === undefined ? {} : { since: options.since }),
    ...(options.until === undefined ? {} : { until: options.until }),
  });
  const byService = new Map<string, Incident[]>();
  for (const incident of incidents)
    byService.set(incident.service, [...(byService.get(incident.service) ?? []), incident]);
  return [...byService.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, list]) => {
      const dry = list.filter((incident) => incident.suppression?.reason === "dry_run");
      const selfResolved = dry.filter(
        (incident) =>
          incident.resolvedAt !== undefined &&
          Date.parse(incident.resolvedAt) - Date.parse(incident.openedAt) <= options.windowMs,
      ).length;
      const actions: Record<string, number> = {};
      for (const incident of dry) {
        const action = incident.decision?.action ?? "unknown";
        actions[action] = (actions[action] ?? 0) + 1;
      }
      const suppressed: Record<string, number> = {};
      for (const incident of list) {
        const reason = incident.suppression?.reason;
        if (reason === undefined || reason === "dry_run") continue;
        suppressed[reason] = (suppressed[reason] ?? 0) + 1;
      }
      return {
        service,
        wouldAct: dry.length,
        selfResolved,
        ...(dry.length === 0 ? {} : { falseTriggerRate: selfResolved / dry.length }),
        actions,
        suppressed,
      };
    });
}

/** The report as a table for people. */
export function formatReadiness(rows: readonly ServiceReadiness[], window: string): string {
  const header = [
    "SERVICE",
    "WOULD ACT",
    `SELF-RESOLVED (${window})`,
    "FALSE TRIGGERS",
    "ACTIONS",
    "SUPPRESSED",
  ];
  const cells = rows.map((row) => [
    row.service,
    String(row.wouldAct),
    String(row.selfResolved),
    row.falseTriggerRate === undefined ? "-" : `${(row.falseTriggerRate * 100).toFixed(1)}%`,
    Object.entries(row.actions)
      .map(([action, count]) => `${action} ${count}`)
      .join(", ") || "-",
    Object.entries(row.suppressed)
      .map(([reason, count]) => `${reason} ${count}`)
      .join(", ") || "-",
  ]);
  if (cells.length === 0) return `${header.join("  ")}\n(none)\n`;
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => (row[column] ?? "").length)),
  );
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("  ");
  return `${[line(header), ...cells.map(line)].join("\n")}\n`;
}
