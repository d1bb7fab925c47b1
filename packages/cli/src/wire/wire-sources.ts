import { alertmanagerWebhook } from "@selfheal/adapter-prometheus";
import type { SignalSource } from "@selfheal/core";
import type { SelfhealConfig } from "../config/selfheal-config.js";
import { definedOnly } from "./defined-only.js";

/** The signal sources of `sources`. */
export function wireSources(config: SelfhealConfig["sources"]): SignalSource[] {
  const alertmanager = config.alertmanager;
  if (alertmanager === undefined) return [];
  return [
    alertmanagerWebhook(
      definedOnly({
        path: alertmanager.path,
        serviceLabel: alertmanager.serviceLabel,
        auth: alertmanager.bearerToken === undefined ? undefined : { bearer: alertmanager.bearerToken },
        maxBodyBytes: alertmanager.maxBodyBytes,
      }),
    ),
  ];
}
