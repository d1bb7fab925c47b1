// GitOps remediation for selfheal is under construction; the test git server lives in
// `@selfheal/gitops/testing`. An empty module keeps the "." export valid meanwhile.
export {};
