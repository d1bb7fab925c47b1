import type { DependencyWait, IncidentTimeline, LoopDeploy } from "@selfheal/examples/dist/loop/index.js";

/** The controller's own time in one incident, and its parts, in milliseconds. */
export interface ControllerTime {
  /** Signal recorded → decision, minus the waits on Prometheus and the policy. */
  readonly decideMs: number;
  /** Decision → change landed (plan, git fetch, commit, push), minus the Argo CD refresh call. */
  readonly remediateMs: number;
  /** Rollback live (the agent's deploy done) → the controller recorded the sync as verified. */
  readonly noticeSyncMs: number;
  readonly totalMs: number;
}

const at = (trail: IncidentTimeline, stage: string) =>
  trail.stages.find((entry) => entry.stage === stage)?.at.getTime();

/** Sum of the waits named `prefix*` that started within [from, to]. */
function waited(
  waits: readonly DependencyWait[],
  prefixes: readonly string[],
  from: number,
  to: number,
): number {
  return waits
    .filter(
      (wait) =>
        prefixes.some((prefix) => wait.name.startsWith(prefix)) && wait.start >= from && wait.start <= to,
    )
    .reduce((sum, wait) => sum + (wait.end - wait.start), 0);
}

/**
 * What the controller itself spends (see bench/README.md, "loop"): the stages where it works
 * rather than waits, minus the calls it makes to Prometheus, the policy and Argo CD inside them,
 * plus the delay between the rollback going live and the controller noticing it. Git work (fetch,
 * commit, push to the local git server) counts as the controller's own: it is its remediator.
 */
export function controllerTime(
  trail: IncidentTimeline,
  waits: readonly DependencyWait[],
  deploys: readonly LoopDeploy[],
): ControllerTime {
  const alert = at(trail, "alert") ?? Number.NaN;
  const decision = at(trail, "decision") ?? Number.NaN;
  const landed = at(trail, "merge") ?? at(trail, "change") ?? Number.NaN;
  const synced = at(trail, "sync") ?? Number.NaN;
  const decideMs = decision - alert - waited(waits, ["enrich:", "policy:"], alert, decision);
  const remediateMs = landed - decision - waited(waits, ["argocd-refresh"], decision, landed);
  const rollbackLive = deploys.at(-1)?.at.getTime() ?? Number.NaN;
  const noticeSyncMs = Math.max(0, synced - rollbackLive);
  return { decideMs, remediateMs, noticeSyncMs, totalMs: decideMs + remediateMs + noticeSyncMs };
}
