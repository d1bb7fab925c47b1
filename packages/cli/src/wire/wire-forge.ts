import { githubForge } from "@selfheal/adapter-github";
import { gitlabForge } from "@selfheal/adapter-gitlab";
import type { GitForge } from "@selfheal/core";
import { plainGitForge } from "@selfheal/gitops";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { definedOnly } from "./defined-only.js";

type ForgeConfig = NonNullable<NonNullable<SelfhealConfig["remediate"]["gitops"]>["forge"]>;

/** The forge of `remediate.gitops.forge`; plain git when none is given. */
export function wireForge(config: ForgeConfig | undefined): GitForge {
  const github = config?.github;
  if (github !== undefined) {
    const auth =
      github.app !== undefined
        ? {
            appId: github.app.appId,
            privateKey: github.app.privateKey,
            installationId: github.app.installationId,
          }
        : github.token !== undefined
          ? { token: github.token }
          : undefined;
    return githubForge(
      definedOnly({ owner: github.owner, repo: github.repo, auth, baseUrl: github.baseUrl }),
    );
  }
  const gitlab = config?.gitlab;
  if (gitlab !== undefined)
    return gitlabForge({ url: gitlab.url, project: gitlab.project, token: gitlab.token });
  return plainGitForge();
}
