import { LocateError } from "./locate-error.js";

/** A file name part: letters, digits, `.`, `_`, `-`; not starting with a dot. */
const safeSegment = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/**
 * `template` with `{service}` replaced by the service's name. The name comes from an alert's
 * label: it may only stand for one part of a file name, so that no alert can point an edit at a
 * file outside the service's own (`../other-team/deployment`, an absolute path, `.git/config`).
 * Throws a `LocateError` naming the service when it cannot.
 */
export function fillServicePath(template: string, service: string): string {
  if (!template.includes("{service}")) return template;
  if (!safeSegment.test(service) || service.length > 253) {
    throw new LocateError(
      `service ${JSON.stringify(service.slice(0, 100))} cannot name a file: a service in a path may only hold letters, digits, ".", "_" and "-" and may not start with "." or "-"`,
    );
  }
  return template.replaceAll("{service}", service);
}
