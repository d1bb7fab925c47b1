import { fileURLToPath } from "node:url";

export * from "./find-opa.js";
export * from "./start-opa.js";

/** The shipped policy file (`policies/selfheal.rego`), to load into a test OPA. */
export const shippedPolicyFile = fileURLToPath(new URL("../../policies/selfheal.rego", import.meta.url));
