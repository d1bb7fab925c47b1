import type { GitWorkspace } from "@selfheal/gitops";
import { type AgentHistoryEntry, argocdTime } from "./argocd-application-view.js";

/**
 * The deployments an agent started on a running service reports as its history: each commit
 * that changed the manifest on the branch's first-parent line, oldest first, ids from 0, as if
 * auto-sync had deployed each at its commit time. This is what lets a rollback find "the
 * version before" in Argo CD's history, as it would in a real cluster.
 */
export async function pastDeployments(
  workspace: GitWorkspace,
  manifestPath: string,
  head: string,
  limit: number,
): Promise<AgentHistoryEntry[]> {
  const newestFirst: { commit: string; time: Date }[] = [];
  for await (const version of workspace.fileHistory(manifestPath, { from: head, limit: 1000 })) {
    newestFirst.push(version);
    if (newestFirst.length === limit) break;
  }
  return newestFirst.reverse().map((version, id) => {
    const at = argocdTime(version.time);
    return {
      id,
      revision: version.commit,
      deployedAt: at,
      deployStartedAt: at,
      initiatedBy: { automated: true },
    };
  });
}
