import type { Incident } from "@selfheal/core";
import { type ArgocdClient, type ArgocdClientSettings, argocdClient } from "./argocd-client.js";

/** Where the Argo CD API is: connection settings, or a client made with `argocdClient`. */
export type ArgocdTarget = ArgocdClientSettings | { readonly client: ArgocdClient };

/** The application of an incident: a fixed name, or one derived from the incident. */
export type ArgocdAppName = string | ((incident: Incident) => string);

/** The client of a target: the given one, or a new one. */
export function clientOf(target: ArgocdTarget): ArgocdClient {
  return "client" in target ? target.client : argocdClient(target);
}

/** The application name for an incident. */
export function appNameFor(app: ArgocdAppName, incident: Incident): string {
  return typeof app === "string" ? app : app(incident);
}
