import { z } from "zod";
import { DurationConfig, exactlyOne, HttpUrl } from "./schema-parts.js";

/** Where change requests are opened. At most one key; none means plain git (direct commits). */
export const ForgeConfig = z
  .strictObject({
    git: z.strictObject({}).optional().describe("Plain git: no change requests, direct commits only."),
    github: z
      .strictObject({
        owner: z.string().min(1),
        repo: z.string().min(1),
        token: z
          .string()
          .min(1)
          .optional()
          .describe("A token (ghp_..., github_pat_...); keep it in an environment variable."),
        app: z
          .strictObject({
            appId: z.union([z.number().int().positive(), z.string().min(1)]),
            privateKey: z
              .string()
              .min(1)
              .describe("PEM text of the app's private key; keep it in an environment variable."),
            installationId: z.number().int().positive(),
          })
          .optional()
          .describe("GitHub App authentication instead of a token."),
        baseUrl: HttpUrl.optional().describe('GitHub Enterprise API URL. @default "https://api.github.com"'),
      })
      .optional(),
    gitlab: z
      .strictObject({
        url: HttpUrl.describe("GitLab base URL (https://gitlab.example.com)."),
        project: z.union([z.string().min(1), z.number().int().positive()]).describe("Project id or path."),
        token: z.string().min(1).describe("A token (glpat-...); keep it in an environment variable."),
      })
      .optional(),
  })
  .superRefine((value, context) => {
    if (Object.values(value).filter((entry) => entry !== undefined).length > 1)
      exactlyOne<typeof value>(["git", "github", "gitlab"])(value, context);
    if (value.github !== undefined && value.github.token !== undefined && value.github.app !== undefined) {
      context.addIssue({ code: "custom", path: ["github"], message: "expected only one of: token, app" });
    }
  });

/** The config repository: where workloads are found and changes land. */
export const RepoConfig = z.strictObject({
  url: HttpUrl.refine(
    (text) => !URL.canParse(text) || (new URL(text).username === "" && new URL(text).password === ""),
    {
      // The URL is never echoed: it holds the credential.
      message:
        "must not carry credentials (user:token@): put the token in remediate.gitops.repo.token (from an environment variable) and the user in repo.username",
    },
  ).describe("Clone URL over HTTP(S), without credentials (they go in `token` and `username`)."),
  branch: z.string().min(1).default("main"),
  dir: z
    .string()
    .min(1)
    .default(".selfheal/config-repo")
    .describe("Folder of the warm clone, relative to the config file."),
  token: z
    .string()
    .min(1)
    .optional()
    .describe("Sent as the HTTP basic password; keep it in an environment variable."),
  username: z.string().min(1).optional().describe('HTTP basic user (GitLab: "oauth2"). @default "selfheal"'),
  identity: z
    .strictObject({ name: z.string().min(1), email: z.string().min(1) })
    .optional()
    .describe(
      'Author and committer of selfheal\'s commits. @default { name: "selfheal", email: "selfheal@localhost" }',
    ),
});

/** How a service's workload is found in the config repository. */
export const LocateConfig = z.strictObject({
  paths: z.array(z.string().min(1)).optional().describe("Path templates tried first ({service})."),
  globs: z.array(z.string().min(1)).optional().describe("Globs searched when no path template matched."),
  labels: z.array(z.string().min(1)).optional().describe("Label keys whose value may name the service."),
});

/** What a rollback edits. */
export const ImageTargetConfig = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("container"),
    container: z
      .string()
      .min(1)
      .optional()
      .describe(
        "The container's name; {service} is replaced. @default the only container, else the one named like the service, else the one whose image repository's last part is the service",
      ),
  }),
  z
    .strictObject({ kind: z.literal("kustomize"), file: z.string().min(1), name: z.string().min(1) })
    .describe(
      "The newTag (or the digest, when the entry is pinned by digest) of a kustomization images entry.",
    ),
  z.strictObject({
    kind: z.literal("helm"),
    file: z.string().min(1),
    path: z.string().min(1),
    replicas: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Dotted path of the replica count in the values file ("replicaCount"): what a scale-up edits when no HPA owns the replicas.',
      ),
  }),
]);

/** `remediate.gitops`: edit the config repo and land the change as a change request or commit. */
export const GitopsConfig = z
  .strictObject({
    repo: RepoConfig.describe("The config repository."),
    forge: ForgeConfig.optional(),
    mode: z
      .enum(["change_request", "direct"])
      .optional()
      .describe("@default change_request when the forge has them"),
    allowDirect: z.boolean().default(false).describe("Let a decision with params.direct commit directly."),
    commitVia: z.enum(["git", "api"]).default("git"),
    locate: LocateConfig.optional(),
    image: ImageTargetConfig.optional().describe('What a rollback edits. @default { kind: "container" }'),
    maxReplicas: z.number().int().positive().optional().describe("Most replicas a scale-up may ask for."),
    quarantine: z
      .union([
        z.literal(false),
        z.strictObject({ file: z.string().min(1).optional(), ttl: DurationConfig.optional() }),
      ])
      .optional()
      .describe('@default { file: ".selfheal/quarantine/{service}.yaml", ttl: "24h" }'),
    autoMerge: z.union([z.boolean(), z.enum(["merge", "squash", "rebase"])]).default(false),
    labels: z.array(z.string().min(1)).optional(),
  })
  .superRefine((value, context) => {
    // Reported by `check` at the key's own line, not by `run` when the remediator is built.
    if (value.mode === "change_request" && (value.forge === undefined || value.forge.git !== undefined)) {
      context.addIssue({
        code: "custom",
        path: ["mode"],
        message:
          "change_request needs a forge with change requests (forge.github or forge.gitlab); plain git can only commit directly (mode: direct)",
      });
    }
  });

/** `remediate`: what carries out decisions. */
export const RemediateConfig = z.strictObject({
  gitops: GitopsConfig.optional(),
});
