import type { Signal } from "../spec/signal.js";
import type { IngestEntry } from "../spec/store.js";
import type { Redactor } from "../util/redact.js";
import { incidentIdFor } from "./ids.js";

/** How the controller names what a received signal belongs to. */
export interface IntakeIdentity {
  /** The incident key of a signal (`service/alertname` by default), read from what was received. */
  readonly keyOf: (signal: Signal) => string;
  readonly redactor: Redactor;
}

/**
 * The incident key and new-incident id of a received (not yet redacted) signal.
 *
 * Worked out from the received values, then passed through `redactor.identity`: a key without
 * a credential is kept as it is (ids do not change), and one with a credential becomes its
 * redacted text plus a keyed hash of the received text. Redacting first would fold two alerts
 * that differ only in a secret into one incident; hashing keeps them apart and gives the same
 * key for every delivery of the same alert, so folding and dedup work as before.
 */
export function intakeIdentity(
  identity: IntakeIdentity,
  received: Signal,
): { readonly key: string; readonly newIncidentId: string } {
  const key = identity.redactor.identity(identity.keyOf(received));
  return { key, newIncidentId: incidentIdFor(key, identity.redactor.identity(received.dedupKey)) };
}

/**
 * What the store is given for a received signal: the signal redacted, with its key and id.
 *
 * This is the one place where a signal's content (labels, annotations, generator URL, names,
 * group key, and any field a source adds) is redacted: nothing downstream (store, policy input,
 * notifications, change requests, logs) ever sees the received values. `dedupKey` and
 * `fingerprint` are identities (dedup, the firing set), so they go through `redactor.identity`
 * instead: unchanged when they hold no credential (Alertmanager's are hashes and hex), never
 * merged when they do.
 */
export function ingestEntry(identity: IntakeIdentity, received: Signal, actor: string): IngestEntry {
  const { redactor } = identity;
  const signal: Signal = {
    ...redactor.redactDeep(received),
    dedupKey: redactor.identity(received.dedupKey),
    fingerprint: redactor.identity(received.fingerprint),
  };
  return { signal, ...intakeIdentity(identity, received), actor };
}
