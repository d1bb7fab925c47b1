import { resolve } from "node:path";
import { type Incident, type Remediator, toMs } from "@selfheal/core";
import { type GitWorkspace, gitopsRemediator, openGitWorkspace } from "@selfheal/gitops";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { definedOnly } from "./defined-only.js";
import { wireForge } from "./wire-forge.js";

/** The `remediate.gitops` section. */
export type GitopsConfig = NonNullable<SelfhealConfig["remediate"]["gitops"]>;

/** The warm workspace of the config repo; `dir` overrides the configured folder (replay). */
export function wireWorkspace(config: GitopsConfig, baseDir: string, dir?: string): GitWorkspace {
  const repo = config.repo;
  return openGitWorkspace(
    definedOnly({
      url: repo.url,
      branch: repo.branch,
      dir: dir ?? resolve(baseDir, repo.dir),
      identity: repo.identity,
      auth:
        repo.token === undefined ? undefined : definedOnly({ password: repo.token, username: repo.username }),
    }),
  );
}

/** Where rollbacks edit, how workloads are found, quarantine: shared by the remediator and the enricher. */
export function changeTargets(config: GitopsConfig) {
  return definedOnly({
    locate: config.locate === undefined ? undefined : definedOnly(config.locate),
    image: config.image === undefined ? undefined : definedOnly(config.image),
    quarantine:
      config.quarantine === undefined || config.quarantine === false
        ? config.quarantine
        : definedOnly({
            file: config.quarantine.file,
            ttlMs:
              config.quarantine.ttl === undefined
                ? undefined
                : toMs(config.quarantine.ttl, "remediate.gitops.quarantine.ttl"),
          }),
  });
}

/** The GitOps remediator of `remediate.gitops`. */
export function wireGitopsRemediator(
  config: GitopsConfig,
  workspace: GitWorkspace,
  afterLanding?: (landed: { readonly incident: Incident; readonly revision: string }) => Promise<void>,
): Remediator {
  const autoMerge = typeof config.autoMerge === "boolean" ? config.autoMerge : { method: config.autoMerge };
  return gitopsRemediator(
    definedOnly({
      workspace,
      forge: wireForge(config.forge),
      mode: config.mode,
      allowDirect: config.allowDirect,
      commitVia: config.commitVia,
      maxReplicas: config.maxReplicas,
      autoMerge,
      labels: config.labels,
      afterLanding,
      ...changeTargets(config),
    }),
  );
}
