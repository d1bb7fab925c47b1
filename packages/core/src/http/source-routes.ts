import { BadInputError } from "../errors/selfheal-error.js";
import type { SignalSource, SignalSourceRoute } from "../spec/signal-source.js";
import { healthPath, readinessPath } from "./probe-routes.js";
import { createWebhookAuthenticator, type WebhookAuthenticator } from "./webhook-authenticator.js";

/** A source route with its settings checked and resolved once, at startup. */
export interface CompiledRoute {
  readonly source: SignalSource;
  readonly route: SignalSourceRoute;
  readonly maxBodyBytes: number;
  readonly authenticator: WebhookAuthenticator | undefined;
}

/** `SignalSourceRoute.maxBodyBytes` default: 1 MiB. */
const defaultMaxBodyBytes = 1_048_576;

/**
 * Index the routes of the sources by path, checking what would otherwise fail per request.
 * @throws BadInputError on a malformed, reserved or duplicate path, a bad size limit, or empty credentials
 */
export function compileRoutes(sources: readonly SignalSource[]): Map<string, CompiledRoute> {
  const routes = new Map<string, CompiledRoute>();
  sources.forEach((source, index) => {
    const route = source.route;
    if (route === undefined) return;
    const where = `sources[${index}].route`;
    const { path } = route;
    if (typeof path !== "string" || !path.startsWith("/") || path.includes("?") || path.includes("#")) {
      throw new BadInputError(
        `${where}.path of source "${source.name}" must start with "/" and have no query or fragment, got ${JSON.stringify(path)}`,
        { path: `${where}.path` },
      );
    }
    if (path === healthPath || path === readinessPath) {
      throw new BadInputError(`${where}.path of source "${source.name}": ${path} is reserved for probes`, {
        path: `${where}.path`,
      });
    }
    const other = routes.get(path);
    if (other !== undefined) {
      throw new BadInputError(
        `sources "${other.source.name}" and "${source.name}" both want the route ${path}: give one another path`,
        { path: `${where}.path` },
      );
    }
    const maxBodyBytes = route.maxBodyBytes ?? defaultMaxBodyBytes;
    if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes <= 0) {
      throw new BadInputError(`${where}.maxBodyBytes must be a positive integer, got ${maxBodyBytes}`, {
        path: `${where}.maxBodyBytes`,
      });
    }
    const authenticator =
      route.auth === undefined ? undefined : createWebhookAuthenticator(route.auth, `${where}.auth`);
    routes.set(path, { source, route, maxBodyBytes, authenticator });
  });
  return routes;
}
