import type { CallOptions, JsonValue } from "./common.js";
import type { DecisionInput, DecisionMetrics, DeploymentFacts } from "./decision.js";
import type { Incident } from "./incident.js";

/** What an enricher adds to the decision input. Every field is optional; absent means "not known". */
export interface Enrichment {
  /** Metric values; merged key by key. Leave a metric out when it could not be read. */
  readonly metrics?: DecisionMetrics;
  /** Replicas the service runs with now (what a scale-up starts from). */
  readonly current_replicas?: number;
  /**
   * Replica cap for this service. Merged as a bound: the input keeps the lowest of this and
   * what it already has (the configured cap), never a higher one.
   */
  readonly max_replicas?: number;
  /** Deployment facts; merged key by key. */
  readonly deployment?: DeploymentFacts;
  /** Other facts, stored under the enricher's name in `input.facts`. */
  readonly facts?: JsonValue;
  /**
   * Set when the alert's condition no longer holds (a level check): the incident is closed
   * as stale and nothing is done. A webhook is a trigger to look, not a command.
   */
  readonly stale?: { readonly reason: string };
  /**
   * Why a value this enricher reads is unknown, by the name the policy knows it by
   * (`restart_count` → `the query needs labels.namespace, which the alert does not have`). A
   * decision that escalates because of an unknown value names it in its reason; the controller
   * adds these causes to that reason, so the reader learns what to fix, not only what is missing.
   */
  readonly unknown?: Readonly<Record<string, string>>;
  /** Problems met on the way (a query that returned nothing usable); recorded in the audit trail. */
  readonly warnings?: readonly string[];
  /**
   * A dependency the enricher needs failed (Prometheus unreachable, a 5xx, a timeout): what it
   * would have added is unknown because of an outage, not because it does not exist. The run is
   * recorded as `enrich.failed` with these causes, counted, logged at warn, and when the policy
   * then decides nothing the incident is decided again later, while its alert still fires.
   */
  readonly failures?: readonly string[];
}

/**
 * Adds facts to the decision input: metrics, the deployment, platform status. Enrichers run
 * one after another in the order configured; each sees what earlier ones found. An enricher
 * that throws or times out is recorded and skipped: what it would have added stays unknown.
 */
export interface Enricher {
  /** Name used in the audit trail and as the key of `facts`. */
  readonly name: string;
  /**
   * Most time the enricher may take, in milliseconds.
   * @default 5000
   */
  readonly timeoutMs?: number;
  /** Find facts about the incident. */
  enrich(options: EnrichOptions): Promise<Enrichment>;
}

/** What an enricher is called with. */
export interface EnrichOptions extends CallOptions {
  /** The incident being decided. */
  readonly incident: Incident;
  /** The decision input built so far (read only). */
  readonly input: Readonly<DecisionInput>;
}
