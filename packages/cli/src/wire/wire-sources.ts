import { argocdNotificationsWebhook } from "@selfheal/adapter-argocd";
import { alertmanagerWebhook } from "@selfheal/adapter-prometheus";
import type { SignalSource } from "@selfheal/core";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { definedOnly } from "./defined-only.js";

/** The signal sources of `sources`. */
export function wireSources(config: SelfhealConfig["sources"]): SignalSource[] {
  const sources: SignalSource[] = [];
  const { alertmanager, argocd } = config;
  if (alertmanager !== undefined) {
    sources.push(
      alertmanagerWebhook(
        definedOnly({
          path: alertmanager.path,
          serviceLabel: alertmanager.serviceLabel,
          auth: alertmanager.bearerToken === undefined ? undefined : { bearer: alertmanager.bearerToken },
          maxBodyBytes: alertmanager.maxBodyBytes,
        }),
      ),
    );
  }
  if (argocd !== undefined) {
    sources.push(
      argocdNotificationsWebhook(
        definedOnly({
          path: argocd.path,
          auth: argocd.bearerToken === undefined ? undefined : { bearer: argocd.bearerToken },
          service: definedOnly({ label: argocd.serviceLabel, applications: argocd.applications }),
          maxBodyBytes: argocd.maxBodyBytes,
        }),
      ),
    );
  }
  return sources;
}
