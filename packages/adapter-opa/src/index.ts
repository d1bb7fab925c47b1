export { type OpaPolicy, type OpaPolicySettings, opaPolicy } from "./opa-policy.js";
export {
  type ShadowComparison,
  type ShadowOutcome,
  type ShadowPolicy,
  type ShadowPolicySettings,
  shadowPolicy,
} from "./shadow-policy.js";
