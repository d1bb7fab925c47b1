import type { IncomingMessage, ServerResponse } from "node:http";
import { describeError } from "../errors/selfheal-error.js";
import type { Logger } from "../util/logger.js";
import { redactDeep } from "../util/redact.js";
import { sendErrorBeforeBody, sendJson } from "./http-response.js";

/** What `/healthz` reports: is the process alive and able to work at all. */
export interface HealthReport {
  readonly ok: boolean;
  readonly details?: Record<string, unknown>;
}

/** What `/readyz` reports: should traffic be sent here now, with one line per check. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Record<string, string>;
}

/** Path of the liveness probe. */
export const healthPath = "/healthz";
/** Path of the readiness probe. */
export const readinessPath = "/readyz";

/** Handlers of the two probe paths: GET or HEAD, JSON, 200 when fine and 503 when not. */
export function createProbeHandlers(options: {
  readonly health: () => HealthReport;
  readonly readiness: () => Promise<ReadinessReport>;
  readonly logger: Logger;
}): Record<
  typeof healthPath | typeof readinessPath,
  (req: IncomingMessage, res: ServerResponse) => Promise<void>
> {
  const { logger } = options;
  return {
    async [healthPath](req, res) {
      if (!allowed(req, res, healthPath)) return;
      let report: HealthReport;
      try {
        report = options.health();
      } catch (error) {
        logger.error("health check failed", { error });
        report = { ok: false, details: { error: describeError(error) } };
      }
      sendJson(res, report.ok ? 200 : 503, JSON.stringify(redactDeep(report)));
    },
    async [readinessPath](req, res) {
      if (!allowed(req, res, readinessPath)) return;
      let report: ReadinessReport;
      try {
        report = await options.readiness();
      } catch (error) {
        logger.error("readiness check failed", { error });
        report = { ready: false, checks: { readiness: `failed: ${describeError(error)}` } };
      }
      sendJson(res, report.ready ? 200 : 503, JSON.stringify(redactDeep(report)));
    },
  };
}

function allowed(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (req.method === "GET" || req.method === "HEAD") return true;
  sendErrorBeforeBody(req, res, {
    status: 405,
    code: "method_not_allowed",
    message: `${req.method ?? "?"} is not allowed on ${path}: use GET`,
    headers: { allow: "GET, HEAD" },
  });
  return false;
}
