import type { GitForge, Incident } from "@selfheal/core";
import type { ChangeRequestKillSwitch } from "../change-request/change-request-text.js";
import type { GitWorkspace } from "../git/git-workspace.js";
import type { LocateWorkloadOptions } from "../locate/locate-workload.js";
import type { ImageTarget } from "./image-target.js";

/** Settings of `gitopsRemediator`. */
export interface GitopsSettings {
  /** The warm workspace of the config repo (its branch is where changes land). */
  readonly workspace: GitWorkspace;
  /**
   * Where change requests are opened.
   * @default plainGitForge(): no change requests, direct commits only
   */
  readonly forge?: GitForge;
  /**
   * `change_request`: push a branch and open a change request; `direct`: commit to the branch.
   * @default "change_request" when the forge has change requests, else "direct"
   */
  readonly mode?: "change_request" | "direct";
  /**
   * Let a decision with `params.direct: true` commit directly even in `change_request` mode.
   * @default false
   */
  readonly allowDirect?: boolean;
  /**
   * `git`: push from the workspace; `api`: commit through the forge's API (no push).
   * @default "git"
   */
  readonly commitVia?: "git" | "api";
  /** How to find the service's workload. @default search `**\/*.yaml` and `**\/*.yml` */
  readonly locate?: Omit<LocateWorkloadOptions, "service" | "signal">;
  /** What a rollback edits. @default { kind: "container" } */
  readonly image?: ImageTarget;
  /** Most replicas a scale-up may ask for, whatever the policy says. */
  readonly maxReplicas?: number;
  /**
   * Quarantine of rolled-back versions in the repo: the file (`{service}` replaced) and for
   * how long. `false` writes none.
   * @default { file: ".selfheal/quarantine/{service}.yaml", ttlMs: 86_400_000 }
   */
  readonly quarantine?: { readonly file?: string; readonly ttlMs?: number } | false;
  /** Merge change requests by themselves once checks pass. @default false */
  readonly autoMerge?: boolean | { readonly method: "merge" | "squash" | "rebase" };
  /** Labels added to every change request besides `selfheal` and `selfheal/<action>`. */
  readonly labels?: readonly string[];
  /** Called after a change reaches the target branch (ask Argo CD to refresh now). Errors are ignored. */
  readonly afterLanding?: (landed: {
    readonly incident: Incident;
    readonly revision: string;
  }) => Promise<void>;
  /** How often `awaitMerge` looks at the change request. @default 5000 */
  readonly mergePollMs?: number;
  /**
   * Attempts of a direct commit when the branch keeps moving. Each round of a race onto one
   * branch lands one writer, so N remediations of one repository at once need up to N attempts:
   * size it above the services that may be fixed in one repository together (an alert storm).
   * @default 10
   */
  readonly maxAttempts?: number;
  /** How change requests say to stop automation. */
  readonly killSwitch?: ChangeRequestKillSwitch;
  /** Clock, for tests. */
  readonly now?: () => Date;
}
