import {
  createRedactor,
  type Incident,
  RemediationError,
  type RemediationOutcome,
  type RemediationPlan,
  type Remediator,
} from "@selfheal/core";
import { sleep } from "@selfheal/core/internal";
import { changeRequestText, formatTrailers } from "../change-request/change-request-text.js";
import { type GitopsDetails, gitopsDetails } from "./gitops-details.js";
import type { GitopsSettings } from "./gitops-settings.js";
import { plainGitForge } from "./plain-git-forge.js";
import { branchName, outcomeOf, planParams, planSummary } from "./plan-params.js";

export type { GitopsSettings } from "./gitops-settings.js";
export { branchName } from "./plan-params.js";

import { changeFiles, changeSettings, paramsJson, resolveChange, unifiedDiff } from "./plan-change.js";
import { type WriteContext, writeBranch, writeDirect } from "./write-change.js";

/**
 * The GitOps remediator: rolls back an image or raises replicas by editing the config repo,
 * keeping every other byte, and lands the change as a change request or a direct commit.
 * Idempotent on the plan's key: its branch is named after it and its commits carry it as a
 * trailer, so a retry or a restarted controller finds its own work.
 */
export function gitopsRemediator(settings: GitopsSettings): Remediator {
  const forge = settings.forge ?? plainGitForge();
  const now = settings.now ?? (() => new Date());
  const quarantine = settings.quarantine === false ? undefined : (settings.quarantine ?? {});
  const change = changeSettings(settings);
  const defaultMode = settings.mode ?? (forge.changeRequests ? "change_request" : "direct");
  if (defaultMode === "change_request" && !forge.changeRequests) {
    throw new RemediationError(`forge "${forge.name}" has no change requests: use mode "direct"`, {
      adapter: "gitops",
    });
  }
  if (settings.commitVia === "api" && forge.commitFiles === undefined) {
    throw new RemediationError(`forge "${forge.name}" cannot commit through an API: use commitVia "git"`, {
      adapter: "gitops",
    });
  }
  const workspace = settings.workspace;

  const landed = async (incident: Incident, revision: string) => {
    await settings.afterLanding?.({ incident, revision }).catch(() => undefined);
  };

  const applyPlan = async (
    incident: Incident,
    plan: RemediationPlan,
    signal: AbortSignal,
  ): Promise<RemediationOutcome> => {
    const details = gitopsDetails(plan);
    const context: WriteContext = {
      workspace,
      forge,
      incident,
      plan,
      details,
      commitVia: settings.commitVia ?? "git",
      maxAttempts: settings.maxAttempts ?? 10,
      files: async (head) =>
        (
          await changeFiles({
            workspace,
            head,
            incident,
            params: planParams(plan),
            settings: change,
            now: now(),
            signal,
          })
        ).map((file) => ({ path: file.path, content: file.after })),
      signal,
    };
    if (details.mode === "direct") {
      const written = await writeDirect(context);
      if (written.revision !== undefined && !written.reused) await landed(incident, written.revision);
      return written.revision === undefined
        ? { status: "noop", details: { gitops: { branch: details.base } } }
        : {
            status: "applied",
            reused: written.reused,
            revision: written.revision,
            details: { gitops: { branch: details.base } },
          };
    }
    const written = await writeBranch(context);
    if (written.revision === undefined)
      return { status: "noop", details: { gitops: { branch: details.branch } } };
    let request = await forge.findByBranch(details.branch, { signal });
    const reused = request !== undefined;
    if (request === undefined) {
      request = await forge.open(
        {
          branch: details.branch,
          base: details.base,
          title: details.title,
          body: details.body,
          labels: details.labels,
        },
        { signal },
      );
    }
    if (request.state === "closed") {
      throw new RemediationError(`change request ${request.url} was closed without merging`, {
        adapter: forge.name,
        incidentId: incident.id,
        escalate: true,
      });
    }
    if (request.state === "open" && settings.autoMerge !== undefined && settings.autoMerge !== false) {
      const method = settings.autoMerge === true ? "merge" : settings.autoMerge.method;
      await forge.enableAutoMerge(request.id, { signal, method, expectedHeadSha: written.revision });
    }
    return outcomeOf(request, written.revision, reused || written.reused, details.branch);
  };

  return {
    name: "gitops",
    actions: ["rollback", "scale_up", "scale_down"],
    async plan({ incident, decision, idempotencyKey, input, redactor = createRedactor(), signal }) {
      const head = await workspace.refresh(signal);
      const { params, location } = await resolveChange({
        workspace,
        head,
        incident,
        decision,
        input,
        settings: change,
        now: now(),
        signal,
      });
      const files = await changeFiles({
        workspace,
        head,
        incident,
        params,
        settings: change,
        now: now(),
        signal,
        location,
      });
      const mode = decision.params.direct === true && settings.allowDirect === true ? "direct" : defaultMode;
      const draft: RemediationPlan = {
        idempotencyKey,
        incidentId: incident.id,
        service: incident.service,
        action: decision.action,
        params: paramsJson(params),
        remediator: "gitops",
        summary: planSummary(params, incident.service, mode, workspace.branch),
        changes: files.map((file) => ({
          target: file.path,
          description: file.description,
          diff: unifiedDiff(file),
        })),
        // No file to edit means the repository already holds the wanted state: say so, so the
        // controller records `no_action` instead of calling apply.
        ...(files.length === 0 ? { noop: true } : {}),
      };
      const text = changeRequestText({
        incident,
        decision,
        plan: draft,
        ...(input === undefined ? {} : { input }),
        ...(settings.killSwitch === undefined ? {} : { killSwitch: settings.killSwitch }),
        redactor,
      });
      const details: GitopsDetails = {
        repo: workspace.url,
        base: workspace.branch,
        head,
        branch: branchName(idempotencyKey),
        mode,
        title: text.title,
        body: text.body,
        labels: [...text.labels, ...(settings.labels ?? [])],
        // The policy's reason may quote an alert or an error: redacted like the body.
        message: redactor.redact(
          `${text.title}\n\n${decision.reason}\n\n${formatTrailers({ ...text.trailers, "Selfheal-Key": idempotencyKey })}\n`,
        ),
      };
      return { ...draft, details: { gitops: { ...details } } };
    },

    async apply({ incident, plan, signal }): Promise<RemediationOutcome> {
      const outcome = await applyPlan(incident, plan, signal);
      const params = planParams(plan);
      if (outcome.status === "noop") return outcome;
      if (params.action !== "rollback") {
        if (params.action !== "scale_up" || params.ttlMs === undefined) return outcome;
        // Time-boxed: the controller opens the revert itself when the time is up and the
        // service is healthy.
        return {
          ...outcome,
          followUp: {
            at: new Date(now().getTime() + params.ttlMs).toISOString(),
            action: "scale_down",
            params: { replicas: params.from },
            reason: `time-boxed scale-up of ${incident.service} to ${params.to} expired: back to ${params.from}`,
          },
        };
      }
      if (quarantine === undefined) return outcome;
      // The version rolled back from stays out for a while: in the store (the controller
      // records this) as well as in the repo's quarantine file.
      const until = new Date(now().getTime() + change.quarantineTtlMs).toISOString();
      return { ...outcome, quarantine: [{ version: params.from, until }] };
    },

    async awaitMerge({ incident, plan, result, signal }): Promise<RemediationOutcome> {
      const id = result.changeRequest?.id;
      if (id === undefined)
        throw new RemediationError("no change request to wait for", {
          adapter: "gitops",
          incidentId: incident.id,
        });
      for (;;) {
        const request = await forge.get(id, { signal });
        if (request.state === "merged") {
          const outcome = outcomeOf(request, result.revision ?? "", true, gitopsDetails(plan).branch);
          if (outcome.revision !== undefined) await landed(incident, outcome.revision);
          return outcome;
        }
        if (request.state === "closed") {
          throw new RemediationError(`change request ${request.url} was closed without merging`, {
            adapter: forge.name,
            incidentId: incident.id,
            escalate: true,
          });
        }
        await sleep(settings.mergePollMs ?? 5000, signal);
      }
    },
  };
}
