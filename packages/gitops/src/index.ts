export {
  type ChangeRequestEvidence,
  type ChangeRequestKillSwitch,
  type ChangeRequestText,
  type ChangeRequestTextOptions,
  changeRequestText,
  formatTrailers,
  maxTitleLength,
  skipLabel,
} from "./change-request/change-request-text.js";
export {
  type CommitFiles,
  type FileVersion,
  type GitAuth,
  type GitIdentity,
  type GitWorkspace,
  type GitWorkspaceSettings,
  openGitWorkspace,
} from "./git/git-workspace.js";
export type { RefStatus } from "./git/smart-http.js";
export { type ConfigTree, memoryTree } from "./locate/config-tree.js";
export { LocateError } from "./locate/locate-error.js";
export {
  type AutoscalerLocation,
  type LocateWorkloadOptions,
  locateWorkload,
  type SkippedFile,
  type WorkloadLocation,
} from "./locate/locate-workload.js";
export type { ManifestEdit, WorkloadSelector } from "./manifest/manifest-edit.js";
export { ManifestError } from "./manifest/manifest-error.js";
export {
  podTemplateKinds,
  type SetContainerImageOptions,
  setContainerImage,
} from "./manifest/set-container-image.js";
export { type SetKustomizeImageOptions, setKustomizeImage } from "./manifest/set-kustomize-image.js";
export { type SetReplicasOptions, setReplicas } from "./manifest/set-replicas.js";
export { type SetYamlPathOptions, setYamlPath } from "./manifest/set-yaml-path.js";
export { type GitopsDeploymentSettings, gitopsDeployment } from "./remediate/deployment-enricher.js";
export { GitopsDetails } from "./remediate/gitops-details.js";
export { branchName, type GitopsSettings, gitopsRemediator } from "./remediate/gitops-remediator.js";
export type { ImageTarget, VersionAccess } from "./remediate/image-target.js";
export { versionAccess } from "./remediate/image-target.js";
export { plainGitForge } from "./remediate/plain-git-forge.js";
export { type QuarantineEntry, readQuarantine, tagOf } from "./remediate/quarantine-file.js";
export { findRollbackTarget, type RollbackTarget, type SkippedVersion } from "./remediate/rollback-target.js";
