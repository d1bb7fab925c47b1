import { ManifestError } from "../manifest/manifest-error.js";

/**
 * A service's workload cannot be located without guessing: nothing matched, several
 * workloads (or several HPAs) matched, or an explicit path holds no match. The message
 * names what was searched and every candidate, so the operator can fix the settings.
 */
export class LocateError extends ManifestError {
  constructor(message: string, options: { readonly cause?: unknown } = {}) {
    super(message, { operation: "locateWorkload", ...options });
    this.name = "LocateError";
  }
}
