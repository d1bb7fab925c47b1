// The CLI tests' config repo is the GitOps remediation scenario's: checkout ran v1.0.0, then
// v1.1.0, and now runs v1.2.0 (apps/checkout/deployment.yaml).
export { createCheckoutConfigRepo as checkoutConfigRepo } from "@selfheal/gitops/testing";
