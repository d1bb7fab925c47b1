export { OpaUnavailableError } from "./opa-answer.js";
export { type OpaPolicy, type OpaPolicySettings, type OpaTiming, opaPolicy } from "./opa-policy.js";
export {
  recordShadowDecisions,
  type ShadowComparison,
  type ShadowOutcome,
  type ShadowPolicy,
  type ShadowPolicySettings,
  shadowPolicy,
} from "./shadow-policy.js";
