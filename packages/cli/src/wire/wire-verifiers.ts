import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import {
  type ArgocdRefresher,
  argocdClient,
  argocdRefresh,
  argocdStatus,
  argocdSync,
} from "@selfheal/adapter-argocd";
import { defaultCpuUsageQuery, prometheusRecovery } from "@selfheal/adapter-prometheus";
import { BadInputError, type Enricher, type Incident, toMs, type Verifier } from "@selfheal/core";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { definedOnly } from "./defined-only.js";
import { hasServiceSettings, resolveService } from "./wire-services.js";

/** The verifiers of `verify`, and the Argo CD refresh hook for after a push. */
export interface WiredVerifiers {
  readonly verifiers: Verifier[];
  /** Ask Argo CD to refresh the incident's application (when `verify.argocd.refreshAfterPush`). */
  readonly afterLanding?: (landed: {
    readonly incident: Incident;
    readonly revision: string;
  }) => Promise<void>;
  /** The `argocdStatus` enricher on the same connection, when `enrich.argocdStatus` asks for it. */
  readonly argocdEnricher?: Enricher;
}

/** The application name of an incident from a template such as `"{service}-prod"`. */
function appTemplate(template: string): (incident: Incident) => string {
  return (incident) =>
    template.replaceAll("{service}", incident.service).replaceAll("{alertname}", incident.alertname);
}

/** Build the verifiers: Argo CD sync first, then Prometheus recovery. */
export async function wireVerifiers(config: SelfhealConfig, baseDir: string): Promise<WiredVerifiers> {
  const verifiers: Verifier[] = [];
  let refresher: ArgocdRefresher | undefined;
  let argocdEnricher: Enricher | undefined;
  const argocd = config.verify.argocd;
  const configured = argocd?.app ?? "{service}";
  // A service may name its own application (services.*.argocdApp).
  const app = hasServiceSettings(config)
    ? (incident: Incident) =>
        appTemplate(resolveService(config, incident.service, incident.labels).argocdApp ?? configured)(
          incident,
        )
    : appTemplate(configured);
  if (argocd !== undefined) {
    const ca =
      argocd.ca === undefined
        ? undefined
        : argocd.ca.includes("-----BEGIN")
          ? argocd.ca
          : await readFile(resolve(baseDir, argocd.ca), "utf8");
    const client = argocdClient(
      definedOnly({
        url: argocd.url,
        token: argocd.token,
        ca,
        insecure: argocd.insecure,
        project: argocd.project,
        appNamespace: argocd.appNamespace,
      }),
    );
    verifiers.push(
      argocdSync({
        client,
        app,
        sync: argocd.sync,
        timeoutMs: toMs(argocd.timeout, "verify.argocd.timeout"),
        degradedGraceMs: toMs(argocd.degradedGrace, "verify.argocd.degradedGrace"),
      }),
    );
    if (argocd.refreshAfterPush) refresher = argocdRefresh({ client });
    if (config.enrich.argocdStatus) argocdEnricher = argocdStatus({ client, app });
  }
  if (config.enrich.argocdStatus && argocd === undefined) {
    throw new BadInputError("enrich.argocdStatus: needs verify.argocd (its connection and app name)", {
      path: "enrich.argocdStatus",
    });
  }
  const recovery = config.verify.prometheusRecovery;
  if (recovery !== undefined) {
    const url = recovery.url ?? config.enrich.prometheus?.url;
    if (url === undefined) {
      throw new BadInputError(
        "verify.prometheusRecovery.url: missing value (and no enrich.prometheus.url to fall back on)",
        { path: "verify.prometheusRecovery.url" },
      );
    }
    const bearer =
      recovery.bearerToken ??
      (recovery.url === undefined ? config.enrich.prometheus?.bearerToken : undefined);
    const byAlert = recovery.byAlert ?? defaultRecoveryByAlert;
    verifiers.push(
      prometheusRecovery(
        definedOnly({
          url,
          auth: bearer === undefined ? undefined : { bearer },
          query: recovery.query,
          threshold: recovery.below,
          byAlert: Object.fromEntries(
            Object.entries(byAlert).map(([alertname, symptom]) => [
              alertname,
              { query: symptom.query, threshold: symptom.below },
            ]),
          ),
          hold: recovery.hold,
          deadline: recovery.deadline,
          interval: recovery.interval,
          window: recovery.window,
        }),
      ),
    );
  }
  const hook = refresher;
  return {
    verifiers,
    ...(argocdEnricher === undefined ? {} : { argocdEnricher }),
    ...(hook === undefined
      ? {}
      : { afterLanding: async ({ incident }) => void (await hook.refresh(app(incident))) }),
  };
}

/** Symptoms other than the error rate, by alert name, when `byAlert` is not configured. */
const defaultRecoveryByAlert: Readonly<Record<string, { query: string; below: number }>> = {
  // The built-in policy scales up above cpuThreshold 0.8: recovered once usage is back below it.
  HighCPU: { query: defaultCpuUsageQuery, below: 0.8 },
};
