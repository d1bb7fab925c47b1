import { alertmanagerWebhook } from "@selfheal/adapter-prometheus";
import type { SignalSource } from "@selfheal/core";
import type { SelfhealConfig } from "../config/selfheal-config.js";

/** The signal sources of `sources`. */
export function wireSources(config: SelfhealConfig["sources"]): SignalSource[] {
  const alertmanager = config.alertmanager;
  if (alertmanager === undefined) return [];
  return [
    alertmanagerWebhook({
      path: alertmanager.path,
      serviceLabel: alertmanager.serviceLabel,
      ...(alertmanager.bearerToken === undefined ? {} : { auth: { bearer: alertmanager.bearerToken } }),
      ...(alertmanager.maxBodyBytes === undefined ? {} : { maxBodyBytes: alertmanager.maxBodyBytes }),
    }),
  ];
}
