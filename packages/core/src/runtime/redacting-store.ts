import type { Store } from "../spec/store.js";
import type { Redactor } from "../util/redact.js";

/**
 * `store` with every incident and audit event written through it redacted by `redactor` first:
 * the controller's one gate for what it persists after intake (decision reasons and params,
 * plans with their change-request text, remediation results, error messages, hook data,
 * notification outcomes), whatever stage or hook wrote it.
 *
 * Signals are redacted before `ingest` by the controller's intake (`ingestEntry`), which also
 * keeps their identities apart, so `ingest` is passed through; so are reads (what is stored is
 * already redacted) and every other member, optional capabilities included, as the store has
 * them (a proxy, so a store built as a class or with members added later keeps working).
 */
export function redactingStore(store: Store, redactor: Redactor): Store {
  const updateIncident: Store["updateIncident"] = (incident, options) =>
    store.updateIncident(redactor.redactDeep(incident), {
      ...options,
      ...(options.events === undefined ? {} : { events: redactor.redactDeep(options.events) }),
    });
  const appendEvents: Store["appendEvents"] = (events) => store.appendEvents(redactor.redactDeep(events));
  return new Proxy(store, {
    get(target, property) {
      if (property === "updateIncident") return updateIncident;
      if (property === "appendEvents") return appendEvents;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
