import { hash, randomUUID } from "node:crypto";

/** A lowercase slug safe in branch names, file names and metric labels. */
export function slug(text: string, maxLength = 40): string {
  const out = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return out.slice(0, maxLength).replace(/-+$/, "") || "x";
}

/**
 * First `length` hex characters of the SHA-256 of the parts, joined by NUL. One-shot
 * `crypto.hash` costs a third of `createHash` per call, which shows on hot paths (a webhook of
 * 100 alerts).
 */
export function shortHash(parts: readonly string[], length = 10): string {
  return hash("sha256", parts.join("\0"), "hex").slice(0, length);
}

/**
 * A deterministic incident id from its key and the delivery that opened it: the same first
 * delivery always names the same incident (`checkout-higherrorrate-1a2b3c4d5e`), readable in
 * branch names and logs.
 */
export function incidentIdFor(key: string, openingDedupKey: string): string {
  return `${slug(key, 48)}-${shortHash([key, openingDedupKey])}`;
}

/** The idempotency key of an action of an incident: stable across retries and restarts. */
export function idempotencyKeyFor(incidentId: string, action: string): string {
  return `${incidentId}/${action}`;
}

/** A unique id for an audit event. */
export function eventId(): string {
  return randomUUID();
}
