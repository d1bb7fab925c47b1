import { describeError } from "../errors/selfheal-error.js";
import type { AuditEvent } from "../spec/audit-event.js";
import type { JsonObject } from "../spec/common.js";
import type { Incident } from "../spec/incident.js";
import type { RemediationPlan } from "../spec/remediation.js";
import { withTimeout } from "../util/async.js";
import { incidentEvent, type RuntimeContext } from "./context.js";

/** What the hooks kept on an incident, by hook name (`incident.details.hooks`). */
function hookData(incident: Incident): Record<string, JsonObject> {
  const hooks = incident.details?.hooks;
  if (typeof hooks !== "object" || hooks === null || Array.isArray(hooks)) return {};
  const out: Record<string, JsonObject> = {};
  for (const [name, value] of Object.entries(hooks)) {
    if (typeof value === "object" && value !== null && !Array.isArray(value)) out[name] = value;
  }
  return out;
}

/**
 * Run every hook's `beforeRemediation` not run yet for this incident (after a restart, the ones
 * that ran are not run again). Resolves with what the hooks keep on the incident (`undefined`:
 * nothing new) and the events recording each call; a hook that fails is recorded and left out,
 * never thrown. With no hooks, nothing is done.
 */
export async function beforeRemediation(
  context: RuntimeContext,
  incident: Incident,
  plan: RemediationPlan,
): Promise<{ readonly hooks: Record<string, JsonObject> | undefined; readonly events: AuditEvent[] }> {
  const kept = hookData(incident);
  const events: AuditEvent[] = [];
  let changed = false;
  for (const hook of context.hooks) {
    if (hook.beforeRemediation === undefined || kept[hook.name] !== undefined) continue;
    const run = hook.beforeRemediation.bind(hook);
    try {
      const data = await withTimeout(
        `hook ${hook.name}`,
        hook.timeoutMs ?? 5000,
        (signal) => run({ incident, plan, signal }),
        context.stopping,
      );
      kept[hook.name] = data ?? {};
      changed = true;
      events.push(
        incidentEvent(context, incident, "hook.completed", `${hook.name}: before remediation`, {
          data: { hook: hook.name, stage: "beforeRemediation", result: kept[hook.name] ?? {} },
        }),
      );
    } catch (error) {
      events.push(
        incidentEvent(context, incident, "hook.failed", `${hook.name}: ${describeError(error)}`, {
          data: { hook: hook.name, stage: "beforeRemediation" },
        }),
      );
    }
  }
  return { hooks: changed ? kept : undefined, events };
}

/** Run `afterClose` of every hook that ran before the remediation; record each call. */
export async function afterClose(context: RuntimeContext, incident: Incident): Promise<void> {
  const kept = hookData(incident);
  const events: AuditEvent[] = [];
  for (const hook of context.hooks) {
    const data = kept[hook.name];
    if (hook.afterClose === undefined || data === undefined) continue;
    const run = hook.afterClose.bind(hook);
    try {
      // Not cut short by closing: the last step of an incident finishes like a checkpoint.
      await withTimeout(`hook ${hook.name}`, hook.timeoutMs ?? 5000, (signal) =>
        run({ incident, data, signal }),
      );
      events.push(
        incidentEvent(context, incident, "hook.completed", `${hook.name}: after close`, {
          data: { hook: hook.name, stage: "afterClose" },
        }),
      );
    } catch (error) {
      events.push(
        incidentEvent(context, incident, "hook.failed", `${hook.name}: ${describeError(error)}`, {
          data: { hook: hook.name, stage: "afterClose" },
        }),
      );
    }
  }
  if (events.length > 0) await context.store.appendEvents(events).catch(() => undefined);
}
